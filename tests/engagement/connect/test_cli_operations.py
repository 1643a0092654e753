"""`tandem connect hold on|off | test-email | usage`, and --account by id."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from typer.testing import CliRunner

from tandem.cli.main import app
from tandem.engagement.accounts.models import Account, AuditEvent
from tandem.engagement.connect.models import ApiCallDay, CrmConnection, EmailResultLink
from tandem.engagement.studio.models import Email
from tests.engagement.connect.conftest import FakeCrm
from tests.engagement.sends.conftest import Sink, sink  # noqa: F401


def tandem(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["connect", *args])
    return result.exit_code, result.output


def one_line_error(code: int, output: str) -> str:
    assert code == 2, output
    assert len(output.strip().splitlines()) == 1, output
    return output


# --- hold ---------------------------------------------------------------------------------


def test_hold_on_then_off_is_saved_and_audited(legacy: CrmConnection) -> None:
    code, output = tandem("hold", "on", "--account", "Northwind", "--admin", "ada", "--json")

    assert code == 0, output
    assert json.loads(output) == {"account": "Northwind", "hold_crm_sends": True}
    assert CrmConnection.objects.get().hold_crm_sends is True
    code, _ = tandem("hold", "off", "--account", "Northwind", "--admin", "ada")
    assert code == 0
    assert CrmConnection.objects.get().hold_crm_sends is False
    changes = AuditEvent.objects.filter(action="connect.options_changed").order_by("pk")
    assert [(e.old_value, e.new_value) for e in changes] == [(False, True), (True, False)]


def test_hold_with_a_bad_choice_exits_2_in_one_line_and_changes_nothing(
    legacy: CrmConnection,
) -> None:
    output = one_line_error(*tandem("hold", "maybe", "--account", "Northwind", "--admin", "ada"))

    assert "choose on or off" in output
    assert CrmConnection.objects.get().hold_crm_sends is False


def test_hold_by_a_marketing_user_is_refused(legacy: CrmConnection, marketer: Any) -> None:
    output = one_line_error(*tandem("hold", "on", "--account", "Northwind", "--admin", "mia"))

    assert "not an Administrator" in output
    assert CrmConnection.objects.get().hold_crm_sends is False


def test_account_by_id(legacy: CrmConnection, account: Account) -> None:
    code, output = tandem("status", "--account", str(account.pk), "--json")

    assert code == 0, output
    assert json.loads(output)["account"] == "Northwind"


# --- usage --------------------------------------------------------------------------------


def test_usage_over_the_chosen_range_as_json(legacy: CrmConnection, account: Account) -> None:
    ApiCallDay.objects.all().delete()
    today = timezone.now().date()
    for days_ago, calls in ((0, 2), (6, 3), (29, 5), (30, 100)):
        ApiCallDay.objects.create(
            account=account,
            day=today - timedelta(days=days_ago),
            crm_username="maria@acme.test",
            calls=calls,
        )

    week = json.loads(tandem("usage", "--account", "Northwind", "--json")[1])
    month = json.loads(tandem("usage", "--account", "Northwind", "--days", "30", "--json")[1])

    assert week["by_user"] == [{"crm_username": "maria@acme.test", "calls": 5}]
    assert month["by_user"] == [{"crm_username": "maria@acme.test", "calls": 10}]
    assert [row["calls"] for row in month["by_day"]] == [2, 3, 5]


def test_usage_with_a_bad_range_exits_2_in_one_line(legacy: CrmConnection) -> None:
    output = one_line_error(*tandem("usage", "--account", "Northwind", "--days", "12"))

    assert "choose one of 1, 7, 30" in output


def test_usage_table(legacy: CrmConnection) -> None:
    code, output = tandem("usage", "--account", "Northwind", "--days", "1")

    assert code == 0, output
    assert "CRM user (last 1 day)" in output
    assert "system@acme.test" in output


# --- test-email ---------------------------------------------------------------------------


@pytest.fixture
def smtp(settings: Any, sink: Sink) -> Sink:  # noqa: F811
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    return sink


def test_test_email_sends_and_writes_the_result(
    upgraded: CrmConnection, email: Email, crm: FakeCrm, smtp: Sink
) -> None:
    code, output = tandem(
        "test-email", "--account", "Northwind", "--admin", "ada", "--email", "Welcome", "--json"
    )

    assert code == 0, output
    data = json.loads(output)
    assert data["address"] == "system@acme.test"
    assert data["status"] == "completed"
    assert [m["To"] for m in smtp.messages] == ["system@acme.test"]
    assert [r["sobject"] for r in crm.records] == ["et4ae5__IndividualEmailResult__c"]
    assert EmailResultLink.objects.get().crm_id == data["tracking_id"]


def test_test_email_of_an_unknown_email_exits_2_and_sends_nothing(
    upgraded: CrmConnection, crm: FakeCrm, smtp: Sink
) -> None:
    output = one_line_error(
        *tandem("test-email", "--account", "Northwind", "--admin", "ada", "--email", "Nope")
    )

    assert "no email 'Nope'" in output
    assert smtp.messages == []
    assert crm.records == []


def test_help_of_the_new_commands_shows_an_example() -> None:
    for command in ("hold", "test-email", "usage", "upgrade"):
        code, output = tandem(command, "--help")
        assert code == 0
        assert "Example: tandem connect " + command in output.replace("\\n", " ")
