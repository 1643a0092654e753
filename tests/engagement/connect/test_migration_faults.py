"""Migrate Existing Users when the CRM stops answering or the process running it dies.

The end-to-end versions, with real processes killed, are in tests/e2e/test_faults.py.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tandem.engagement.accounts.models import Account, Role, User
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.errors import ConnectStateError
from tandem.engagement.connect.models import (
    ConnectedUser,
    CrmConnection,
    MigrationRun,
    UserConnectionState,
)
from tandem.engagement.connect.services.migration import users_migrate
from tests.engagement.connect.conftest import FakeCrm

UNREACHABLE = CrmError("unreachable", "the CRM did not answer ([Errno 111] Connection refused)")


def waiting(account: Account, crm: FakeCrm, count: int) -> list[str]:
    """`count` more users Connect knew under legacy authentication, all waiting."""
    names = []
    for i in range(count):
        user = User.objects.create_user(
            username=f"w{i}", password="x", account=account, role=Role.MARKETING_USER
        )
        name = f"w{i}@acme.test"
        crm.add(name, f"0050000000001{i:02d}AAA")
        ConnectedUser.objects.create(
            account=account,
            user=user,
            crm_username=name,
            state=UserConnectionState.PENDING,
            was_legacy=True,
        )
        names.append(name)
    return names


def test_once_the_crm_does_not_answer_the_users_left_are_not_tried_and_still_wait(
    upgraded: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CONNECT_MIGRATION_THREADS = 1  # one user after another: which ones is exact
    names = waiting(upgraded.account, crm, 4)
    real = crm.jwt_login

    def jwt_login(**kwargs: str) -> object:  # the CRM dies after w0's token
        if kwargs["username"] in names[1:]:
            crm.calls.append(f"jwt {kwargs['username']}")
            raise UNREACHABLE
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)
    del crm.jwt_refusals["mark@acme.test"]  # mark first (oldest mapping), then w0..w3

    run = users_migrate(actor=admin, connection=upgraded)

    assert [c for c in crm.calls if c.startswith("jwt w")] == [
        "jwt w0@acme.test",
        "jwt w1@acme.test",
    ]
    rows = {row["crm_username"]: row for row in run.rows}
    assert (run.succeeded, run.failed) == (2, 3)
    assert rows["w1@acme.test"]["error_message"] == UNREACHABLE.message
    for name in names[2:]:
        assert rows[name]["status"] == "failure"
        assert rows[name]["error_code"] == "unreachable"
        assert rows[name]["error_message"] == (
            f"not tried: {UNREACHABLE.message}; tried again by the next run or the retry"
        )
    states = dict(
        ConnectedUser.objects.filter(crm_username__in=names).values_list("crm_username", "state")
    )
    assert states == {names[0]: "connected", **dict.fromkeys(names[1:], "pending")}
    upgraded.refresh_from_db()
    assert upgraded.migration_claimed_at is None

    monkeypatch.setattr(crm, "jwt_login", real)
    again = users_migrate(actor=admin, connection=upgraded)
    assert sorted(row["crm_username"] for row in again.rows) == names[1:]
    assert (again.succeeded, again.failed) == (3, 0)


def test_with_threads_no_user_is_called_once_the_crm_stopped_answering(
    upgraded: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The CRM answers 4 calls, then none: the calls under way then finish (at most one per
    thread), no other user is called, and every user left is not tried, with the cause."""
    threads, answered = 3, 4
    settings.CONNECT_MIGRATION_THREADS = threads
    names = ["mark@acme.test", *waiting(upgraded.account, crm, 20)]
    del crm.jwt_refusals["mark@acme.test"]
    real = crm.jwt_login
    lock = threading.Lock()
    called: list[str] = []

    def jwt_login(**kwargs: str) -> object:
        with lock:
            called.append(kwargs["username"])
            dead = len(called) > answered
        if dead:
            raise UNREACHABLE
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", jwt_login)

    run = users_migrate(actor=admin, connection=upgraded)

    assert answered < len(called) <= answered + threads
    assert len(set(called)) == len(called)
    rows = {row["crm_username"]: row for row in run.rows}
    assert [row["crm_username"] for row in run.rows] == names
    assert (run.succeeded, run.failed) == (answered, len(names) - answered)
    not_tried = f"not tried: {UNREACHABLE.message}; tried again by the next run or the retry"
    for name in names:
        row = rows[name]
        if row["status"] == "success":
            assert name in called
        elif name in called:
            assert (row["error_code"], row["error_message"]) == ("unreachable", UNREACHABLE.message)
        else:
            assert (row["error_code"], row["error_message"]) == ("unreachable", not_tried)
    states = dict(
        ConnectedUser.objects.filter(crm_username__in=names).values_list("crm_username", "state")
    )
    failed = {row["crm_username"] for row in run.rows if row["status"] == "failure"}
    assert states == {name: "pending" if name in failed else "connected" for name in names}
    upgraded.refresh_from_db()
    assert upgraded.migration_claimed_at is None

    monkeypatch.setattr(crm, "jwt_login", real)
    again = users_migrate(actor=admin, connection=upgraded)
    assert {row["crm_username"] for row in again.rows} == failed
    assert (again.succeeded, again.failed) == (len(failed), 0)


def test_a_run_whose_process_died_frees_the_account_once_its_lease_lapses(
    upgraded: CrmConnection, admin: User, crm: FakeCrm, settings: Any
) -> None:
    settings.CONNECT_MIGRATION_LEASE_SECONDS = 60
    waiting(upgraded.account, crm, 1)
    died_at = timezone.now()
    CrmConnection.objects.filter(pk=upgraded.pk).update(migration_claimed_at=died_at)
    runs = MigrationRun.objects.count()

    with (
        time_machine.travel(died_at + timedelta(seconds=59), tick=False),
        pytest.raises(ConnectStateError, match="already running"),
    ):
        users_migrate(actor=admin, connection=upgraded)
    assert MigrationRun.objects.count() == runs

    with time_machine.travel(died_at + timedelta(seconds=60), tick=False):
        run = users_migrate(actor=admin, connection=upgraded)
    assert [row["crm_username"] for row in run.rows] == ["mark@acme.test", "w0@acme.test"]


def test_a_live_run_renews_its_claim_so_that_a_second_run_is_still_refused(
    upgraded: CrmConnection,
    admin: User,
    crm: FakeCrm,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.CONNECT_MIGRATION_LEASE_SECONDS = 60
    settings.CONNECT_MIGRATION_THREADS = 1  # the second run starts from within a CRM call
    names = waiting(upgraded.account, crm, 3)
    start = timezone.now()
    refused: list[str] = []
    second_runs: list[MigrationRun] = []
    real = crm.jwt_login

    def slow_jwt_login(**kwargs: str) -> object:  # each user takes 25 s of the CRM's time
        traveller.shift(timedelta(seconds=25))
        if kwargs["username"] == names[2] and not refused + second_runs:  # 100 s in
            try:
                second = CrmConnection.objects.get(pk=upgraded.pk)
                second_runs.append(users_migrate(actor=admin, connection=second))
            except ConnectStateError as exc:
                refused.append(exc.message)
        return real(**kwargs)

    monkeypatch.setattr(crm, "jwt_login", slow_jwt_login)
    del crm.jwt_refusals["mark@acme.test"]
    runs = MigrationRun.objects.count()
    with time_machine.travel(start, tick=False) as traveller:
        run = users_migrate(actor=admin, connection=upgraded)

    assert refused == [
        "Migrate Existing Users is already running for this account; wait for its results."
    ]
    assert second_runs == []
    assert (run.succeeded, run.failed) == (4, 0)
    assert MigrationRun.objects.count() == runs + 1
