"""`tandem connect status | connect-legacy | preflight | upgrade | migrate-users`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.models import ConnectionState, CrmConnection, MigrationRun
from tests.engagement.connect.conftest import NOT_ADMIN_APPROVED, FakeCrm

pytestmark = pytest.mark.usefixtures("mc_consumer_key")


def tandem(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["connect", *args])
    return result.exit_code, result.output


def test_status_as_json(legacy: CrmConnection) -> None:
    code, output = tandem("status", "--account", "Northwind", "--json")

    data = json.loads(output)
    assert code == 0
    assert data["state"] == "legacy"
    assert {u["crm_username"] for u in data["users"]} == {"maria@acme.test", "mark@acme.test"}


def test_unknown_account_exits_2(db: None) -> None:
    code, output = tandem("status", "--account", "Nowhere")

    assert code == 2
    assert "no account named 'Nowhere'" in output


def test_connect_legacy_with_a_wrong_password_exits_2_and_changes_nothing(
    admin: User, crm: FakeCrm
) -> None:
    code, output = tandem(
        "connect-legacy",
        "--account",
        "Northwind",
        "--admin",
        "ada",
        "--login-url",
        "https://crm.test",
        "--username",
        "system@acme.test",
        "--password",
        "wrong",
    )

    assert code == 2
    assert "authentication failure" in output
    assert not CrmConnection.objects.exists()


def test_preflight_names_the_user_who_would_fail(legacy: CrmConnection, crm: FakeCrm) -> None:
    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED

    code, output = tandem("preflight", "--account", "Northwind", "--json")

    rows = {row["crm_username"]: row for row in json.loads(output)}
    assert code == 1
    assert rows["system@acme.test"]["ready"]
    assert (
        rows["mark@acme.test"]["error_message"] == "user is not admin approved to access this app"
    )
    assert CrmConnection.objects.get().state == ConnectionState.LEGACY


def test_upgrade_without_a_browser_migrates_users(
    legacy: CrmConnection, crm: FakeCrm, account: Account
) -> None:
    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED

    code, output = tandem("upgrade", "--account", "Northwind", "--admin", "ada")

    run = MigrationRun.objects.get()
    assert code == 0, output
    assert CrmConnection.objects.get().state == ConnectionState.CONNECTED_APP
    assert (run.succeeded, run.failed) == (1, 1)


def test_upgrade_by_a_marketing_user_is_refused(legacy: CrmConnection, marketer: User) -> None:
    code, output = tandem("upgrade", "--account", "Northwind", "--admin", "mia")
    assert "not an Administrator" in output

    assert code == 2
    assert CrmConnection.objects.get().state == ConnectionState.LEGACY


def test_migrate_users_again_reports_the_remaining_failure(
    legacy: CrmConnection, crm: FakeCrm
) -> None:
    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED
    tandem("upgrade", "--account", "Northwind", "--admin", "ada")

    code, output = tandem("migrate-users", "--account", "Northwind", "--admin", "ada", "--json")

    data = json.loads(output)
    assert code == 0
    assert (data["succeeded"], data["failed"]) == (0, 1)
    assert data["rows"][0]["error_code"] == "invalid_app_access"


def test_rollback_after_a_scripted_upgrade(legacy: CrmConnection) -> None:
    tandem("upgrade", "--account", "Northwind", "--admin", "ada")

    code, output = tandem("rollback", "--account", "Northwind", "--admin", "ada")

    assert code == 0, output
    assert CrmConnection.objects.get().state == ConnectionState.LEGACY


def test_outage_with_a_bad_time_exits_2_and_schedules_nothing(legacy: CrmConnection) -> None:
    code, output = tandem("outage", "--account", "Northwind", "--admin", "ada", "--start", "soon")

    assert code == 2
    assert "not an ISO 8601 time" in output
    assert not legacy.account.connect_outages.exists()


def test_a_refused_upgrade_says_in_one_line_how_to_continue_or_roll_back(
    legacy: CrmConnection, crm: FakeCrm
) -> None:
    crm.jwt_refusals["system@acme.test"] = NOT_ADMIN_APPROVED

    code, output = tandem("upgrade", "--account", "Northwind", "--admin", "ada")

    assert code == 2
    assert len(output.strip().splitlines()) == 1
    assert "not admin approved" in output
    assert "`tandem connect upgrade --account Northwind --admin ada` again" in output
    assert "`tandem connect rollback --account Northwind --admin ada`" in output
    assert CrmConnection.objects.get().state == ConnectionState.UPGRADING
    assert not MigrationRun.objects.exists()


def test_the_named_command_continues_once_the_crm_side_is_fixed(
    legacy: CrmConnection, crm: FakeCrm
) -> None:
    crm.jwt_refusals["system@acme.test"] = NOT_ADMIN_APPROVED
    tandem("upgrade", "--account", "Northwind", "--admin", "ada")
    del crm.jwt_refusals["system@acme.test"]

    code, output = tandem("upgrade", "--account", "Northwind", "--admin", "ada")

    assert code == 0, output
    assert CrmConnection.objects.get().state == ConnectionState.CONNECTED_APP
    assert MigrationRun.objects.count() == 1


def test_a_refused_upgrade_with_rollback_on_failure_returns_to_legacy(
    legacy: CrmConnection, crm: FakeCrm
) -> None:
    crm.jwt_refusals["system@acme.test"] = NOT_ADMIN_APPROVED

    code, output = tandem(
        "upgrade", "--account", "Northwind", "--admin", "ada", "--rollback-on-failure"
    )

    assert code == 2
    assert len(output.strip().splitlines()) == 1
    assert "Rolled back: Northwind uses legacy authentication again" in output
    connection = CrmConnection.objects.get()
    assert connection.state == ConnectionState.LEGACY
    assert connection.legacy_secret
