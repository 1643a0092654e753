"""The 14-day auto-connection window, on a frozen clock: day 13, the exact boundary, day 15.

Open means `upgraded_at <= now < upgraded_at + 14 days`; at the boundary it is closed. Each
way back in (the periodic sweep, the next use of Connect, Migrate Existing Users) obeys it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import time_machine

from tandem.engagement.accounts.models import AuditEvent, User
from tandem.engagement.connect import services
from tandem.engagement.connect.errors import ConnectError, ConnectStateError
from tandem.engagement.connect.models import ConnectedUser, CrmConnection, MigrationRun
from tandem.engagement.connect.services.migration import auto_connect_sweep, users_migrate
from tests.engagement.conftest import client_for
from tests.engagement.connect.conftest import FakeCrm, mappings

DAY_13 = timedelta(days=13)
BOUNDARY = timedelta(days=14)
DAY_15 = timedelta(days=15)


@pytest.fixture
def ready(upgraded: CrmConnection, crm: FakeCrm) -> CrmConnection:
    """mark is pending, and the CRM admin has since assigned him the permission set."""
    del crm.jwt_refusals["mark@acme.test"]
    return upgraded


def at(connection: CrmConnection, offset: timedelta) -> Iterator[None]:
    assert connection.upgraded_at is not None
    moment: datetime = connection.upgraded_at + offset
    return time_machine.travel(moment, tick=False)  # type: ignore[return-value]


def jwt_calls(crm: FakeCrm, username: str) -> int:
    return crm.calls.count(f"jwt {username}")


# --- the periodic sweep -----------------------------------------------------------------------


def test_sweep_on_day_13_reconnects(ready: CrmConnection, crm: FakeCrm) -> None:
    with at(ready, DAY_13):
        assert auto_connect_sweep() == 1

    assert mappings(ready.account)["mark@acme.test"] == "connected"


@pytest.mark.parametrize("offset", [BOUNDARY, DAY_15], ids=["boundary", "day15"])
def test_sweep_from_the_boundary_on_disconnects_without_calling_the_crm(
    ready: CrmConnection, crm: FakeCrm, offset: timedelta
) -> None:
    before = jwt_calls(crm, "mark@acme.test")

    with at(ready, offset):
        assert auto_connect_sweep() == 0

    ready.refresh_from_db()
    assert mappings(ready.account)["mark@acme.test"] == "disconnected"
    assert jwt_calls(crm, "mark@acme.test") == before
    assert ready.legacy_secret == ""
    assert not ConnectedUser.objects.exclude(legacy_secret="").exists()


# --- the next use -----------------------------------------------------------------------------


def test_next_use_on_day_13_reconnects(ready: CrmConnection) -> None:
    with at(ready, DAY_13):
        services.connection_token(ready, "mark@acme.test")

    assert mappings(ready.account)["mark@acme.test"] == "connected"


@pytest.mark.parametrize("offset", [BOUNDARY, DAY_15], ids=["boundary", "day15"])
def test_next_use_from_the_boundary_on_is_refused_and_says_connect_by_hand(
    ready: CrmConnection, crm: FakeCrm, offset: timedelta
) -> None:
    before = jwt_calls(crm, "mark@acme.test")

    with at(ready, offset), pytest.raises(ConnectError, match="connect by hand"):
        services.connection_token(ready, "mark@acme.test")

    assert mappings(ready.account)["mark@acme.test"] == "disconnected"
    assert jwt_calls(crm, "mark@acme.test") == before


# --- the button -------------------------------------------------------------------------------


def test_migrate_button_on_day_13_reconnects(ready: CrmConnection, admin: User) -> None:
    with at(ready, DAY_13):
        run = users_migrate(actor=admin, connection=ready)

    assert (run.succeeded, run.failed) == (1, 0)
    assert mappings(ready.account)["mark@acme.test"] == "connected"


@pytest.mark.parametrize("offset", [BOUNDARY, DAY_15], ids=["boundary", "day15"])
def test_migrate_button_from_the_boundary_on_reconnects_nobody(
    ready: CrmConnection, crm: FakeCrm, admin: User, offset: timedelta
) -> None:
    before, runs = jwt_calls(crm, "mark@acme.test"), MigrationRun.objects.count()

    with at(ready, offset), pytest.raises(ConnectStateError, match="connect by hand"):
        users_migrate(actor=admin, connection=ready)

    assert mappings(ready.account)["mark@acme.test"] == "disconnected"
    assert jwt_calls(crm, "mark@acme.test") == before
    assert MigrationRun.objects.count() == runs


def test_migrate_page_from_the_boundary_on_says_why(ready: CrmConnection, admin: User) -> None:
    with at(ready, BOUNDARY):
        client = client_for(admin)
        response = client.post("/email/admin/salesforce-integration/migrate/", follow=True)
        page = response.content.decode()

    assert response.status_code == 200
    assert "connect by hand" in page
    assert "Migrate Existing Users</button>" not in page
    assert mappings(ready.account)["mark@acme.test"] == "disconnected"


# --- erasing the legacy credentials early ------------------------------------------------------


def test_erasing_early_still_ends_every_pending_user(
    upgraded: CrmConnection, crm: FakeCrm, admin: User
) -> None:
    services.legacy_credentials_erase(actor=admin, connection=upgraded)

    with at(upgraded, DAY_13):
        assert auto_connect_sweep() == 0  # still refused by the CRM: pending
    assert mappings(upgraded.account)["mark@acme.test"] == "pending"
    with at(upgraded, DAY_15):
        auto_connect_sweep()
        auto_connect_sweep()  # a second sweep changes nothing more

    assert mappings(upgraded.account) == {
        "maria@acme.test": "connected",
        "mark@acme.test": "disconnected",
    }
    closed = AuditEvent.objects.filter(action="connect.window_closed")
    assert closed.count() == 1
    assert closed.get().new_value == {"disconnected": ["mark@acme.test"]}


def test_upgrade_without_migration_leaves_users_awaiting_auto_connection(
    legacy: CrmConnection, crm: FakeCrm, admin: User, settings: object
) -> None:
    settings.MC_CONSUMER_KEY = "3MVG9test"  # type: ignore[attr-defined]
    services.upgrade_begin(actor=admin, connection=legacy, log_in_again=False)
    legacy.refresh_from_db()
    services.upgrade_verify_by_jwt(actor=admin, connection=legacy)
    legacy.refresh_from_db()
    done = services.upgrade_complete(
        actor=admin, connection=legacy, migrate_users=False, erase_legacy_now=True
    )

    assert mappings(done.account) == {"maria@acme.test": "pending", "mark@acme.test": "pending"}
    with at(done, DAY_15):
        auto_connect_sweep()
    assert mappings(done.account) == {
        "maria@acme.test": "disconnected",
        "mark@acme.test": "disconnected",
    }
