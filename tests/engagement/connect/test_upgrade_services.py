"""The upgrade's services: states, identity checks, completion, migration, rollback."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from tandem.engagement.accounts.models import AuditEvent, User
from tandem.engagement.connect import services
from tandem.engagement.connect.crypto import secret_decrypt
from tandem.engagement.connect.errors import ConnectStateError, UpgradeIdentityError
from tandem.engagement.connect.models import ConnectionState, CrmConnection, MigrationRun
from tests.engagement.connect.conftest import NOT_ADMIN_APPROVED, FakeCrm, mappings


def begin(connection: CrmConnection, admin: User, **kwargs: bool) -> dict[str, list[str]]:
    url = services.upgrade_begin(
        actor=admin, connection=connection, log_in_again=kwargs.get("log_in_again", False)
    )
    return parse_qs(urlsplit(url).query)


pytestmark = pytest.mark.usefixtures("mc_consumer_key")


def test_legacy_connection_stores_the_password_encrypted(legacy: CrmConnection) -> None:
    assert legacy.state == ConnectionState.LEGACY
    assert legacy.legacy_secret
    assert "pwTOKEN" not in legacy.legacy_secret
    assert secret_decrypt(legacy.legacy_secret) == "pwTOKEN"
    assert legacy.my_domain == "acme"


def test_begin_enters_upgrading_with_pkce_and_state(legacy: CrmConnection, admin: User) -> None:
    params = begin(legacy, admin, log_in_again=True)

    legacy.refresh_from_db()
    assert legacy.state == ConnectionState.UPGRADING
    assert params["state"] == [legacy.pending_oauth_state]
    assert params["code_challenge_method"] == ["S256"]
    assert params["prompt"] == ["login"]
    assert AuditEvent.objects.filter(action="connect.upgrade_started").count() == 1


def test_callback_with_a_foreign_state_changes_nothing(legacy: CrmConnection, admin: User) -> None:
    begin(legacy, admin)
    legacy.refresh_from_db()

    with pytest.raises(services.ConnectError):
        services.upgrade_callback(actor=admin, connection=legacy, state="forged", code="c")

    legacy.refresh_from_db()
    assert legacy.state == ConnectionState.UPGRADING
    assert legacy.verified_identity is None
    assert legacy.pending_oauth_state


def test_callback_as_another_user_offers_accepting_them(
    legacy: CrmConnection, admin: User, crm: FakeCrm
) -> None:
    state = begin(legacy, admin)["state"][0]
    crm.code_identity = "maria@acme.test"
    legacy.refresh_from_db()

    with pytest.raises(UpgradeIdentityError) as caught:
        services.upgrade_callback(actor=admin, connection=legacy, state=state, code="c")
    accepted = services.upgrade_identity_accept(actor=admin, connection=legacy)

    assert caught.value.can_accept
    assert accepted.system_username == "maria@acme.test"
    assert accepted.verified_identity is not None


def test_callback_from_another_org_stops_and_stays_upgrading(
    legacy: CrmConnection, admin: User, crm: FakeCrm
) -> None:
    crm.add("intruder@other.test", "005000000000009AAA", org="00D000000000009AAA")
    state = begin(legacy, admin)["state"][0]
    crm.code_identity = "intruder@other.test"
    legacy.refresh_from_db()

    with pytest.raises(UpgradeIdentityError) as caught:
        services.upgrade_callback(actor=admin, connection=legacy, state=state, code="c")

    legacy.refresh_from_db()
    assert not caught.value.can_accept
    assert legacy.state == ConnectionState.UPGRADING
    assert legacy.system_username == "system@acme.test"
    assert legacy.verified_identity is None


def _verified(legacy: CrmConnection, admin: User, crm: FakeCrm) -> CrmConnection:
    state = begin(legacy, admin)["state"][0]
    crm.code_identity = "system@acme.test"
    legacy.refresh_from_db()
    return services.upgrade_callback(actor=admin, connection=legacy, state=state, code="c")


def test_complete_migrates_users_and_reports_each_failure(
    legacy: CrmConnection, admin: User, crm: FakeCrm
) -> None:
    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED
    connection = _verified(legacy, admin, crm)

    done = services.upgrade_complete(
        actor=admin, connection=connection, migrate_users=True, erase_legacy_now=False
    )

    run = MigrationRun.objects.get()
    assert done.state == ConnectionState.CONNECTED_APP
    assert done.window_ends_at is not None
    assert (run.succeeded, run.failed) == (1, 1)
    assert mappings(done.account) == {"maria@acme.test": "connected", "mark@acme.test": "pending"}
    assert run.files == [
        f"{run.started_at:%Y-%m-%d}_migrationsuccess.csv",
        f"{run.started_at:%Y-%m-%d}_migrationfailures.csv",
    ]


def test_complete_refused_for_the_system_user_stays_upgrading(
    legacy: CrmConnection, admin: User, crm: FakeCrm
) -> None:
    connection = _verified(legacy, admin, crm)
    crm.jwt_refusals["system@acme.test"] = NOT_ADMIN_APPROVED

    with pytest.raises(services.ConnectError, match="not admin approved"):
        services.upgrade_complete(
            actor=admin, connection=connection, migrate_users=True, erase_legacy_now=False
        )

    connection.refresh_from_db()
    assert connection.state == ConnectionState.UPGRADING
    assert connection.legacy_secret
    assert not MigrationRun.objects.exists()


def test_complete_before_the_crm_answered_is_refused(legacy: CrmConnection, admin: User) -> None:
    begin(legacy, admin)
    legacy.refresh_from_db()

    with pytest.raises(ConnectStateError):
        services.upgrade_complete(
            actor=admin, connection=legacy, migrate_users=False, erase_legacy_now=False
        )


def test_erase_now_drops_every_legacy_password(
    legacy: CrmConnection, admin: User, crm: FakeCrm
) -> None:
    connection = _verified(legacy, admin, crm)

    done = services.upgrade_complete(
        actor=admin, connection=connection, migrate_users=False, erase_legacy_now=True
    )

    assert done.legacy_secret == ""
    assert not done.account.connected_users.exclude(legacy_secret="").exists()


def test_rollback_within_the_window_returns_to_legacy(
    legacy: CrmConnection, admin: User, crm: FakeCrm
) -> None:
    connection = _verified(legacy, admin, crm)
    connection = services.upgrade_complete(
        actor=admin, connection=connection, migrate_users=True, erase_legacy_now=False
    )

    back = services.upgrade_rollback(actor=admin, connection=connection)

    assert back.state == ConnectionState.LEGACY
    assert mappings(back.account) == {"maria@acme.test": "legacy", "mark@acme.test": "legacy"}


def test_begin_is_refused_once_connected_app(
    legacy: CrmConnection, admin: User, crm: FakeCrm
) -> None:
    connection = _verified(legacy, admin, crm)
    connection = services.upgrade_complete(
        actor=admin, connection=connection, migrate_users=False, erase_legacy_now=False
    )

    with pytest.raises(ConnectStateError):
        begin(connection, admin)
