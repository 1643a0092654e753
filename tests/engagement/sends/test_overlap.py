"""The delivery loop overlaps the database with SMTP: the next batch is claimed while one is
delivered, and a batch is recorded while the next one is delivered. Fake pools in the SMTP
thread, each waiting for what the database thread must have done by then: no timing."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends import pipeline
from tandem.engagement.sends.claims import batch_claim, batch_record_outcomes
from tandem.engagement.sends.conf import DeliveryConfig
from tandem.engagement.sends.models import RecordStatus, SendBatch
from tandem.engagement.sends.smtp import Job, Outcome, Result
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import config_for
from tests.engagement.sends.helpers import running_send

WAIT = 10.0  # seconds a step waits for the other thread before the test fails


class ScriptedPool:
    """Runs `script(delivery number, jobs, pool)` for each delivery, in the SMTP thread."""

    def __init__(self, script: Callable[[int, Sequence[Job], ScriptedPool], list[Result]]):
        self.script = script
        self.deliveries = 0
        self.failure_streak = 0
        self.last_error = ""
        self.stopped = False

    def __call__(self, config: DeliveryConfig) -> ScriptedPool:
        return self

    async def deliver(self, sender: str, jobs: Sequence[Job], deadline: float) -> list[Result]:
        self.deliveries += 1
        return self.script(self.deliveries, jobs, self)

    async def close(self) -> None:
        return None


def _sent(jobs: Sequence[Job]) -> list[Result]:
    return [Result(job.record_id, Outcome.SENT, 250, "ok", 1) for job in jobs]


def _statuses(send: Any) -> Counter[str]:
    return Counter(send.records.values_list("status", flat=True))


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> dict[str, threading.Event]:
    """Events the database thread sets: "claimed N" after its N-th claim returned, "recorded
    N" after the N-th batch's outcomes were written; "recording 1" waits for "delivering 2"."""
    happened: dict[str, threading.Event] = {}
    claims = records = 0

    def event(name: str) -> threading.Event:
        return happened.setdefault(name, threading.Event())

    def claim(**kwargs: Any) -> Any:
        nonlocal claims
        batch = batch_claim(**kwargs)
        claims += 1
        event(f"claimed {claims}").set()
        return batch

    def record(**kwargs: Any) -> Any:
        nonlocal records
        records += 1
        if records == 1:
            # Recorded while the next batch is delivered, not before it starts.
            assert event("delivering 2").wait(WAIT), (
                "batch 2 did not start before batch 1 was recorded"
            )
        verdict = batch_record_outcomes(**kwargs)
        event(f"recorded {records}").set()
        return verdict

    monkeypatch.setattr(pipeline, "batch_claim", claim)
    monkeypatch.setattr(pipeline, "batch_record_outcomes", record)
    return happened


def test_the_next_batch_is_claimed_during_a_delivery_and_recorded_during_the_next(
    marketer: User,
    email: Email,
    audience: DataExtension,
    events: dict[str, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    def script(number: int, jobs: Sequence[Job], pool: ScriptedPool) -> list[Result]:
        if number == 1:
            # Batch 1 is still being delivered when batch 2 is claimed.
            assert events.setdefault("claimed 2", threading.Event()).wait(WAIT)
        events.setdefault(f"delivering {number}", threading.Event()).set()
        return _sent(jobs)

    monkeypatch.setattr(pipeline, "SmtpPool", ScriptedPool(script))
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    report = pipeline.send_deliver(send_id=send.id, config=config_for(1, batch_size=10))

    assert (report.batches, report.messages) == (3, 25)
    assert _statuses(send) == {RecordStatus.SENT: 25}
    assert all(SendBatch.objects.filter(send=send).values_list("finished_at", flat=True))


def test_a_batch_taken_for_lost_stops_the_next_one_which_gives_back_what_it_did_not_offer(
    marketer: User,
    email: Email,
    audience: DataExtension,
    events: dict[str, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    def script(number: int, jobs: Sequence[Job], pool: ScriptedPool) -> list[Result]:
        events.setdefault(f"delivering {number}", threading.Event()).set()
        if number == 1:
            return _sent(jobs)
        # Batch 2 offers one message, then waits until the loop tells it to stop.
        for _ in range(int(WAIT * 100)):
            if pool.stopped:
                break
            threading.Event().wait(0.01)
        assert pool.stopped, "the loop did not stop the next batch"
        first, *rest = jobs
        return [*_sent([first]), *(Result(job.record_id, Outcome.NOT_ATTEMPTED) for job in rest)]

    monkeypatch.setattr(pipeline, "SmtpPool", ScriptedPool(script))
    # Recovery takes batch 1 for lost just before its outcomes are written.
    taken = pipeline.batch_record_outcomes

    def lost_then_record(**kwargs: Any) -> Any:
        batch = kwargs["batch"]
        if batch.id == first:
            SendBatch.objects.filter(pk=batch.id).update(is_lost=True, finished_at=timezone.now())
            send.records.filter(batch_id=batch.id).update(status=RecordStatus.UNKNOWN)
        return taken(**kwargs)

    first = 0
    claim = pipeline.batch_claim

    def remember_first(**kwargs: Any) -> Any:
        nonlocal first
        batch = claim(**kwargs)
        first = first or (batch.id if batch else 0)
        return batch

    monkeypatch.setattr(pipeline, "batch_claim", remember_first)
    monkeypatch.setattr(pipeline, "batch_record_outcomes", lost_then_record)

    report = pipeline.send_deliver(send_id=send.id, config=config_for(1, batch_size=10))

    # Batch 1 was taken for lost (its answers still count); batch 2 sent one message and gave
    # the nine it did not offer back to the queue; no third batch was claimed.
    assert (report.batches, report.messages) == (2, 20)
    assert _statuses(send) == {RecordStatus.SENT: 11, RecordStatus.QUEUED: 14}
    assert list(
        SendBatch.objects.filter(send=send).order_by("id").values_list("is_lost", flat=True)
    ) == [True, False]
