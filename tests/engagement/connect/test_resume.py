"""Held sends resume within a minute of Connect being available again, on a frozen clock:
at the end of a scheduled outage (a task planned for that moment, and the per-minute check),
and when the upgrade completes (on commit)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect import services, tasks
from tandem.engagement.connect.models import ConnectionState, CrmConnection
from tandem.engagement.connect.resume import RESUME_TASK, held_sends_resume_all
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.studio.models import Email
from tests.engagement.connect.conftest import FakeCrm
from tests.engagement.connect.test_outage_admission import started


@pytest.fixture
def clock() -> Any:
    with time_machine.travel(datetime.fromisoformat("2026-12-01T20:00:00+00:00"), tick=False) as t:
        yield t


@pytest.fixture
def queued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sends queued for admission again (instead of a broker)."""
    seen: list[int] = []
    monkeypatch.setattr(
        "tandem.engagement.sends.queue.enqueue_begin",
        lambda send_id, eta=None: seen.append(send_id),
    )
    return seen


@pytest.fixture
def planned(monkeypatch: pytest.MonkeyPatch) -> list[tuple[dict[str, Any], datetime]]:
    """Resumptions planned at an outage's end (kwargs, eta) instead of a broker."""
    seen: list[tuple[dict[str, Any], datetime]] = []
    monkeypatch.setattr(
        tasks.held_sends_resume_task,
        "apply_async",
        lambda kwargs, eta: seen.append((kwargs, eta)),
    )
    return seen


def held_in_outage(
    legacy: CrmConnection, admin: User, email: Email, capture: Any, hours: float
) -> tuple[Send, datetime]:
    CrmConnection.objects.filter(pk=legacy.pk).update(hold_crm_sends=True)
    with capture(execute=True):
        outage = services.outage_schedule(
            actor=admin, account=legacy.account, starts_at=timezone.now(), hours=hours
        )
    return started(admin, email, capture), outage.ends_at


def test_an_outage_held_send_says_outage_and_until_when(
    clock: Any,
    legacy: CrmConnection,
    admin: User,
    email: Email,
    planned: list[Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send, _ends_at = held_in_outage(legacy, admin, email, django_capture_on_commit_callbacks, 2)

    assert send.status == SendStatus.HELD
    assert send.failure_reason == (
        "Marketing Cloud Connect is unavailable during a scheduled outage; "
        "the send resumes by itself at its end, 2026-12-01 22:00 UTC"
    )
    assert "upgrade" not in send.failure_reason


def test_the_resumption_is_planned_for_the_outages_end(
    clock: Any,
    legacy: CrmConnection,
    admin: User,
    email: Email,
    planned: list[Any],
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send, ends_at = held_in_outage(legacy, admin, email, django_capture_on_commit_callbacks, 2)

    assert planned == [({"account_id": legacy.account_id}, ends_at)]
    assert tasks.held_sends_resume_task.name == RESUME_TASK
    clock.move_to(ends_at - timedelta(seconds=1))
    assert tasks.held_sends_resume_task(account_id=legacy.account_id) == 0
    assert queued == []
    clock.move_to(ends_at)
    assert tasks.held_sends_resume_task(account_id=legacy.account_id) == 1
    assert queued == [send.pk]


def test_the_per_minute_check_resumes_if_the_planned_task_was_missed(
    clock: Any,
    legacy: CrmConnection,
    admin: User,
    email: Email,
    planned: list[Any],
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    send, ends_at = held_in_outage(legacy, admin, email, django_capture_on_commit_callbacks, 1)

    clock.move_to(ends_at - timedelta(seconds=30))
    assert held_sends_resume_all() == 0
    clock.move_to(ends_at + timedelta(seconds=30))
    assert held_sends_resume_all() == 1
    assert queued == [send.pk]
    assert tasks.RESUME_SECONDS == 60


def test_overlapping_outages_hold_until_the_last_one_ends(
    clock: Any,
    legacy: CrmConnection,
    admin: User,
    email: Email,
    planned: list[Any],
    queued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _send, first_end = held_in_outage(legacy, admin, email, django_capture_on_commit_callbacks, 1)
    services.outage_schedule(
        actor=admin,
        account=legacy.account,
        starts_at=timezone.now() + timedelta(minutes=30),
        hours=2,
    )
    later = started(admin, email, django_capture_on_commit_callbacks)

    assert later.failure_reason.endswith("at its end, 2026-12-01 22:30 UTC")
    clock.move_to(first_end)
    assert held_sends_resume_all() == 0
    assert queued == []


def test_held_sends_resume_when_the_upgrade_completes(
    legacy: CrmConnection,
    admin: User,
    email: Email,
    crm: FakeCrm,
    queued: list[int],
    settings: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings.MC_CONSUMER_KEY = "3MVG9test"
    CrmConnection.objects.filter(pk=legacy.pk).update(hold_crm_sends=True)
    url = services.upgrade_begin(actor=admin, connection=legacy, log_in_again=False)
    send = started(admin, email, django_capture_on_commit_callbacks)
    assert send.status == SendStatus.HELD
    assert "Connected App upgrade" in send.failure_reason
    crm.code_identity = "system@acme.test"
    legacy.refresh_from_db()
    state = parse_qs(urlsplit(url).query)["state"][0]
    connection = services.upgrade_callback(actor=admin, connection=legacy, state=state, code="c")

    with django_capture_on_commit_callbacks(execute=True):
        services.upgrade_complete(
            actor=admin, connection=connection, migrate_users=False, erase_legacy_now=False
        )

    assert CrmConnection.objects.get(pk=legacy.pk).state == ConnectionState.CONNECTED_APP
    assert queued == [send.pk]
