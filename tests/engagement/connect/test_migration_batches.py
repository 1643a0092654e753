"""Migrate Existing Users at scale: the CRM calls of several users at once, the outcomes
recorded in batches; each user recorded once, a stopped run resumed by the next."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect import services
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.models import (
    ApiCallDay,
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationRun,
    UserConnectionState,
)
from tandem.engagement.connect.services import migration
from tandem.engagement.connect.services.migration import users_migrate
from tandem.engagement.connect.services.records import usage_record_many
from tests.engagement.connect.conftest import ORG, FakeCrm, mappings

USERS = 10
INACTIVE = CrmError("invalid_grant", "user hasn't approved this consumer", 400)
OUTSIDE_HOURS = CrmError("invalid_grant", "IP restricted or invalid login hours", 400)


def crm_name(i: int) -> str:
    return f"user{i:02d}@acme.test"


def crm_id(i: int) -> str:
    return f"0050000000001{i:02d}AAA"


@pytest.fixture
def many(crm: FakeCrm, account: Account) -> CrmConnection:
    """Connected App, window open, USERS previously connected users waiting (none legacy
    mapped through the pages: the scale is the point here)."""
    now = timezone.now()
    connection = CrmConnection.objects.create(
        account=account,
        state=ConnectionState.CONNECTED_APP,
        login_url="https://crm.test",
        org_id=ORG,
        system_username="system@acme.test",
        upgraded_at=now,
        window_ends_at=now + timedelta(days=14),
    )
    for i in range(USERS):
        user = User.objects.create_user(username=f"e{i:02d}", password="x", account=account)
        ConnectedUser.objects.create(
            account=account, user=user, crm_username=crm_name(i), was_legacy=True
        )
        crm.add(crm_name(i), crm_id(i))
    return connection


def calls_today(account: Account) -> dict[str, int]:
    return dict(
        ApiCallDay.objects.filter(account=account, day=timezone.now().date()).values_list(
            "crm_username", "calls"
        )
    )


def test_every_user_is_recorded_once_across_threads_and_batches(
    many: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CONNECT_MIGRATION_THREADS = 4
    monkeypatch.setattr(migration, "RECORD_BATCH", 3)
    crm.jwt_refusals[crm_name(2)] = INACTIVE
    crm.jwt_refusals[crm_name(7)] = OUTSIDE_HOURS

    run = users_migrate(actor=admin, connection=many)

    assert (run.succeeded, run.failed) == (8, 2)
    assert [row["crm_username"] for row in run.rows] == [crm_name(i) for i in range(USERS)]
    assert {
        row["crm_username"]: row["crm_user_id"] for row in run.rows if row["status"] == "success"
    } == {crm_name(i): crm_id(i) for i in range(USERS) if i not in (2, 7)}
    refused = {
        m.crm_username: (m.state, m.last_error_code, m.last_error_message)
        for m in ConnectedUser.objects.filter(account=many.account).exclude(state="connected")
    }
    assert refused == {
        crm_name(2): ("pending", "invalid_grant", "user hasn't approved this consumer"),
        crm_name(7): ("pending", "invalid_grant", "IP restricted or invalid login hours"),
    }
    connected = ConnectedUser.objects.filter(account=many.account, state="connected")
    assert dict(connected.values_list("crm_username", "crm_user_id")) == {
        crm_name(i): crm_id(i) for i in range(USERS) if i not in (2, 7)
    }
    assert all(m.connected_at and m.last_attempt_at for m in connected)
    assert calls_today(many.account) == {crm_name(i): 1 for i in range(USERS) if i not in (2, 7)}
    assert sorted(crm.calls) == sorted(f"jwt {crm_name(i)}" for i in range(USERS))


@pytest.mark.parametrize("threads", [1, 4])
def test_a_run_stopped_midway_keeps_its_recorded_batches_and_is_resumed_with_the_rest(
    many: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    threads: int,
) -> None:
    settings.CONNECT_MIGRATION_THREADS = threads
    monkeypatch.setattr(migration, "RECORD_BATCH", 3)
    monkeypatch.setattr(migration, "RECORD_SECONDS", 3600.0)
    real = crm.jwt_login
    crashed: list[str] = []

    def jwt_login(**kwargs: str) -> object:
        if kwargs["username"] == crm_name(6) and not crashed:
            crashed.append(kwargs["username"])
            raise RuntimeError("the worker went away")
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)

    with pytest.raises(RuntimeError):
        users_migrate(actor=admin, connection=many)

    many.refresh_from_db()
    assert many.migration_claimed_at is None  # the next run may start at once
    states = mappings(many.account)
    assert [states[crm_name(i)] for i in range(USERS)] == ["connected"] * 6 + ["legacy"] * 4

    stopped = MigrationRun.objects.get()
    assert [row["crm_username"] for row in stopped.rows] == [crm_name(i) for i in range(6)]
    assert (stopped.state, stopped.files) == ("running", [])
    calls = len(crm.calls)

    run = users_migrate(actor=admin, connection=many)

    assert run.pk == stopped.pk  # the same run goes on; its rows (and files) list everyone
    assert [row["crm_username"] for row in run.rows] == [crm_name(i) for i in range(USERS)]
    assert (run.state, run.succeeded, run.failed) == ("done", USERS, 0)
    assert len(run.files) == 2
    assert sorted(crm.calls[calls:]) == [f"jwt {crm_name(i)}" for i in range(6, USERS)]
    assert set(mappings(many.account).values()) == {"connected"}
    assert calls_today(many.account) == {crm_name(i): 1 for i in range(USERS)}


def test_a_user_changed_meanwhile_is_not_overwritten_by_its_batch(
    many: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The batch's UPDATE applies only to users still waiting (here user 1 was disconnected
    while the CRM answered for user 3, before the batch was recorded)."""
    settings.CONNECT_MIGRATION_THREADS = 1
    monkeypatch.setattr(migration, "RECORD_SECONDS", 3600.0)
    crm.jwt_refusals[crm_name(4)] = INACTIVE
    real = crm.jwt_login

    def jwt_login(**kwargs: str) -> object:
        if kwargs["username"] == crm_name(3):
            ConnectedUser.objects.filter(crm_username__in=[crm_name(1), crm_name(4)]).update(
                state=UserConnectionState.DISCONNECTED
            )
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)

    users_migrate(actor=admin, connection=many)

    states = mappings(many.account)
    assert (states[crm_name(1)], states[crm_name(4)]) == ("disconnected", "disconnected")
    assert ConnectedUser.objects.get(crm_username=crm_name(4)).last_error_code == ""
    assert {states[crm_name(i)] for i in range(USERS) if i not in (1, 4)} == {"connected"}


def test_a_rollback_before_the_batch_is_recorded_leaves_every_user_waiting(
    many: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CONNECT_MIGRATION_THREADS = 1
    monkeypatch.setattr(migration, "RECORD_SECONDS", 3600.0)
    real = crm.jwt_login

    def jwt_login(**kwargs: str) -> object:
        if kwargs["username"] == crm_name(USERS - 1):  # as a rollback would, under its lock
            CrmConnection.objects.filter(pk=many.pk).update(state=ConnectionState.LEGACY)
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)

    users_migrate(actor=admin, connection=many)

    assert set(mappings(many.account).values()) == {"legacy"}


def test_usage_of_many_users_adds_to_todays_counts(account: Account) -> None:
    ApiCallDay.objects.create(
        account=account, day=timezone.now().date(), crm_username="a@acme.test", calls=2
    )

    usage_record_many(account.pk, ["a@acme.test", "b@acme.test", "a@acme.test"])
    usage_record_many(account.pk, [])

    assert calls_today(account) == {"a@acme.test": 4, "b@acme.test": 1}


def test_a_single_attempt_updates_the_mapping_in_memory(many: CrmConnection, crm: FakeCrm) -> None:
    mapping = ConnectedUser.objects.select_related("user").get(crm_username=crm_name(0))

    assert services.user_auto_connect(mapping=mapping)

    assert (mapping.state, mapping.crm_user_id) == ("connected", crm_id(0))
    assert mapping.connected_at is not None


def test_the_token_answers_identity_url_spares_a_call_per_user(
    many: CrmConnection, admin: User, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`id` names the org and the user (`/id/<orgId>/<userId>`): no identity call is made."""
    identity_calls: list[str] = []
    real = crm.identity

    def identity(**kwargs: Any) -> object:
        identity_calls.append(kwargs["token"].access_token)
        return real(**kwargs)

    monkeypatch.setattr(crm, "identity", identity)

    run = users_migrate(actor=admin, connection=many)

    assert run.succeeded == USERS
    assert identity_calls == []


def test_without_ids_in_the_token_answer_the_identity_url_decides(
    many: CrmConnection, admin: User, crm: FakeCrm, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_token = crm._token
    monkeypatch.setattr(
        crm,
        "_token",
        lambda username: replace(real_token(username), identity_url="https://crm.test/me"),
    )
    crm.add(crm_name(3), crm_id(3), org="00D000000000099AAA")  # now another org's user

    run = users_migrate(actor=admin, connection=many)

    rows = {row["crm_username"]: row for row in run.rows}
    assert (rows[crm_name(3)]["status"], rows[crm_name(3)]["error_code"]) == (
        "failure",
        "org_mismatch",
    )
    assert rows[crm_name(4)]["crm_user_id"] == crm_id(4)  # from the identity URL's answer
    assert run.succeeded == USERS - 1


def test_each_batch_writes_only_its_own_users(
    many: CrmConnection, admin: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Recording a batch never rewrites what the run's earlier batches recorded (the run
    once kept its rows in one JSON value, written whole after every batch): the first
    batch's users are named by as many statements as the last one's."""
    monkeypatch.setattr(migration, "RECORD_BATCH", 3)  # 10 users: batches of 3, 3, 3, 1

    with CaptureQueriesContext(db_connection) as statements:
        run = users_migrate(actor=admin, connection=many)

    named = {
        crm_name(i): sum(crm_name(i) in query["sql"] for query in statements) for i in range(USERS)
    }
    assert named[crm_name(0)] > 0
    assert set(named.values()) == {named[crm_name(0)]}, named
    assert [row["crm_username"] for row in run.rows] == [crm_name(i) for i in range(USERS)]
    assert (run.succeeded, run.failed) == (USERS, 0)
