"""Connect's completion, migration and rollback re-check the state where they write it.

A double submit or a rollback racing Connect is simulated by letting the "other request" run
while the first is waiting for the CRM (inside its JWT bearer call), as happens in production.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

import pytest

from tandem.engagement.accounts.models import AuditEvent, User
from tandem.engagement.connect import services
from tandem.engagement.connect.errors import ConnectStateError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationRun,
)
from tandem.engagement.connect.services.migration import users_migrate
from tandem.engagement.content.models import ContentFile
from tests.engagement.connect.conftest import NOT_ADMIN_APPROVED, FakeCrm, mappings

pytestmark = pytest.mark.usefixtures("mc_consumer_key")


@pytest.fixture
def verified(legacy: CrmConnection, admin: User, crm: FakeCrm) -> CrmConnection:
    """Upgrading, the system user's identity checked: ready for Connect."""
    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED
    url = services.upgrade_begin(actor=admin, connection=legacy, log_in_again=False)
    state = parse_qs(urlsplit(url).query)["state"][0]
    crm.code_identity = "system@acme.test"
    legacy.refresh_from_db()
    return services.upgrade_callback(actor=admin, connection=legacy, state=state, code="c")


def during_next_jwt(crm: FakeCrm, monkeypatch: pytest.MonkeyPatch, other: Callable[[], object]):
    """Run `other` (another request) once, while the next JWT bearer call is in flight."""
    real = crm.jwt_login
    pending = [other]

    def jwt_login(**kwargs: str) -> object:
        if pending:
            pending.pop()()
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)


def complete(connection: CrmConnection, admin: User) -> CrmConnection:
    return services.upgrade_complete(
        actor=admin, connection=connection, migrate_users=True, erase_legacy_now=False
    )


def snapshot(connection: CrmConnection) -> tuple[object, ...]:
    connection = CrmConnection.objects.get(pk=connection.pk)
    return (
        connection.state,
        connection.upgraded_at,
        connection.window_ends_at,
        MigrationRun.objects.count(),
        ContentFile.objects.count(),
        ConnectedUser.objects.count(),
        tuple(sorted(mappings(connection.account).items())),
    )


def test_double_submit_of_connect_migrates_once(
    verified: CrmConnection, admin: User, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    second_request = CrmConnection.objects.get(pk=verified.pk)  # loaded before either finished
    outcome: list[object] = []

    def first_request() -> None:
        outcome.append(complete(CrmConnection.objects.get(pk=verified.pk), admin))

    during_next_jwt(crm, monkeypatch, first_request)

    with pytest.raises(ConnectStateError, match="nothing was changed"):
        complete(second_request, admin)

    assert MigrationRun.objects.count() == 1
    assert ContentFile.objects.count() == 2  # one success file, one failure file
    assert ConnectedUser.objects.count() == 2
    assert AuditEvent.objects.filter(action="connect.upgrade_completed").count() == 1
    assert AuditEvent.objects.filter(action="connect.users_migrated").count() == 1


def test_complete_twice_in_a_row_changes_nothing_the_second_time(
    verified: CrmConnection, admin: User
) -> None:
    stale = CrmConnection.objects.get(pk=verified.pk)
    complete(verified, admin)
    before = snapshot(verified)

    with pytest.raises(ConnectStateError):
        complete(stale, admin)

    assert snapshot(verified) == before


def test_rollback_racing_connect_wins_and_connect_changes_nothing(
    verified: CrmConnection, admin: User, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    def rollback() -> None:
        services.upgrade_rollback(actor=admin, connection=CrmConnection.objects.get(pk=verified.pk))

    during_next_jwt(crm, monkeypatch, rollback)

    with pytest.raises(ConnectStateError):
        complete(verified, admin)

    verified.refresh_from_db()
    assert verified.state == ConnectionState.LEGACY
    assert verified.upgraded_at is None
    assert verified.window_ends_at is None
    assert not MigrationRun.objects.exists()
    assert mappings(verified.account) == {"maria@acme.test": "legacy", "mark@acme.test": "legacy"}


def test_rollback_during_a_migration_is_refused_and_the_migration_finishes(
    verified: CrmConnection, admin: User, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    complete(verified, admin)  # maria reconnected, mark pending
    del crm.jwt_refusals["mark@acme.test"]
    refused: list[str] = []

    def rollback() -> None:
        try:
            services.upgrade_rollback(
                actor=admin, connection=CrmConnection.objects.get(pk=verified.pk)
            )
        except ConnectStateError as exc:
            refused.append(exc.message)

    during_next_jwt(crm, monkeypatch, rollback)
    run = users_migrate(actor=admin, connection=verified)

    verified.refresh_from_db()
    assert refused == ["Migrate Existing Users is running: roll back once it is done."]
    assert verified.state == ConnectionState.CONNECTED_APP
    assert verified.migration_claimed_at is None
    assert (run.succeeded, run.failed) == (1, 0)
    assert mappings(verified.account)["mark@acme.test"] == "connected"


def test_a_second_migration_while_one_runs_is_refused(
    verified: CrmConnection, admin: User, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    complete(verified, admin)
    refused: list[str] = []

    def second() -> None:
        try:
            users_migrate(actor=admin, connection=CrmConnection.objects.get(pk=verified.pk))
        except ConnectStateError as exc:
            refused.append(exc.message)

    during_next_jwt(crm, monkeypatch, second)
    users_migrate(actor=admin, connection=verified)

    assert len(refused) == 1
    assert "already running" in refused[0]
    assert MigrationRun.objects.count() == 2  # Connect's run and this one, not a third
    assert ContentFile.objects.count() == 4  # two files per run, distinct names


def test_the_sweep_leaves_an_account_alone_while_its_migration_runs(
    upgraded: CrmConnection, crm: FakeCrm
) -> None:
    from django.utils import timezone

    from tandem.engagement.connect.services.migration import auto_connect_sweep

    del crm.jwt_refusals["mark@acme.test"]
    CrmConnection.objects.filter(pk=upgraded.pk).update(migration_claimed_at=timezone.now())
    before = len(crm.calls)

    assert auto_connect_sweep() == 0
    assert len(crm.calls) == before
    assert mappings(upgraded.account)["mark@acme.test"] == "pending"
