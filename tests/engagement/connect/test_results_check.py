"""IndividualEmailResults reach the CRM once a send ends, never before: one results check for
all sends (a chain begun by each worker start), not a poll per send that would have to know
whether tasks run eagerly."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from celery import current_app
from django.utils import timezone

from tandem.engagement.accounts.models import Account
from tandem.engagement.connect import tasks, writeback
from tandem.engagement.connect.models import CrmAudience, EmailResultLink
from tandem.engagement.connect.services.tracking import tracking_catch_up_all
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.studio.models import Email
from tests.engagement.connect.conftest import FakeCrm
from tests.engagement.connect.test_writeback import WritingCrm, completed_send

pytestmark = pytest.mark.usefixtures("legacy")


def running_send(account: Account, email: Email, recipients: int) -> Send:
    """A CRM-audience send still delivering (its records sent so far, no end yet)."""
    send = completed_send(account, email, recipients)
    Send.objects.filter(pk=send.pk).update(status=SendStatus.RUNNING, finished_at=None)
    return send


def send_end(send: Send, *, ago: timedelta = timedelta(0)) -> None:
    Send.objects.filter(pk=send.pk).update(
        status=SendStatus.COMPLETED, finished_at=timezone.now() - ago
    )


def written(send: Send) -> int:
    return EmailResultLink.objects.filter(record__send=send).count()


@pytest.fixture
def fake(settings: Any, crm: FakeCrm) -> WritingCrm:
    writing = WritingCrm(users=crm.users, passwords=crm.passwords)
    settings.CONNECT_CRM_CLIENT = lambda: writing
    return writing


@pytest.fixture
def eager() -> Iterator[None]:
    """Tasks run in the caller, as with TANDEM_TASKS_EAGER: a countdown is not waited for."""
    before = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = before


def test_the_check_writes_nothing_while_the_send_runs_and_every_result_once_it_ends(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = running_send(account, email, 3)

    assert tasks.results_write_check_task() is True
    assert (fake.batches, written(send)) == ([], 0)
    assert CrmAudience.objects.get(send=send).results_written_at is None

    send_end(send)
    tasks.results_write_check_task()

    assert [len(batch) for batch in fake.batches] == [3]
    assert written(send) == 3
    assert CrmAudience.objects.get(send=send).results_written_at is not None


def test_the_check_writes_each_send_once(account: Account, email: Email, fake: WritingCrm) -> None:
    first = completed_send(account, email, 2)
    second = completed_send(account, email, 1)

    tasks.results_write_check_task()
    tasks.results_write_check_task()

    assert sorted(len(batch) for batch in fake.batches) == [1, 2]
    assert (written(first), written(second)) == (2, 1)


def test_sends_that_ended_over_an_hour_ago_are_left_to_the_hourly_catch_up(
    account: Account, email: Email, fake: WritingCrm
) -> None:
    send = running_send(account, email, 2)
    send_end(send, ago=writeback.RECENT + timedelta(minutes=1))

    tasks.results_write_check_task()
    assert (fake.batches, written(send)) == ([], 0)

    tracking_catch_up_all()
    assert written(send) == 2


def test_the_check_plans_its_next_run_only_in_its_chain(
    monkeypatch: pytest.MonkeyPatch, account: Account
) -> None:
    planned: list[dict[str, Any]] = []
    monkeypatch.setattr(
        tasks.results_write_check_task,
        "apply_async",
        lambda kwargs, countdown: planned.append({**kwargs, "countdown": countdown}),
    )

    tasks.results_write_check_task()
    assert planned == []

    tasks.results_write_check_task(again=True, chain="")
    assert planned == [{"again": True, "chain": "", "countdown": tasks.RESULTS_POLL_SECONDS}]


@pytest.mark.usefixtures("eager")
def test_under_eager_tasks_a_send_task_tries_once_and_writes_once_the_send_ended(
    monkeypatch: pytest.MonkeyPatch, account: Account, email: Email, fake: WritingCrm
) -> None:
    tries: list[int] = []
    real = tasks.send_results_write

    def counted(*, send_id: int) -> int | None:
        tries.append(send_id)
        return real(send_id=send_id)

    monkeypatch.setattr(tasks, "send_results_write", counted)
    send = running_send(account, email, 2)

    tasks.send_results_write_task.apply_async(args=(send.pk,), countdown=5)
    assert tries == [send.pk]  # ran once, in the caller, and planned no other try
    assert (fake.batches, written(send)) == ([], 0)

    send_end(send)
    tasks.send_results_write_task.apply_async(args=(send.pk, 719), countdown=5)  # an old message
    assert tries == [send.pk, send.pk]
    assert written(send) == 2


def test_an_unexpected_error_does_not_end_the_chain(monkeypatch: pytest.MonkeyPatch) -> None:
    planned: list[dict[str, Any]] = []
    monkeypatch.setattr(
        tasks.results_write_check_task,
        "apply_async",
        lambda kwargs, countdown: planned.append(kwargs),
    )

    def broken() -> int:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(tasks, "recent_results_write", broken)

    with pytest.raises(RuntimeError):
        tasks.results_write_check_task(again=True, chain="")
    assert planned == [{"again": True, "chain": ""}]
