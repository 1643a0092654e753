"""A batch whose delivery outlasts the lease (slow retries) renews its heartbeat while it runs,
so recovery never declares a live batch lost. Frozen clock, fake SMTP pool: no waiting."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends import pipeline
from tandem.engagement.sends.claims import FinishState, batch_heartbeat, send_recover_stale
from tandem.engagement.sends.conf import DeliveryConfig
from tandem.engagement.sends.models import RecordStatus, SendBatch, SendStatus
from tandem.engagement.sends.smtp import Job, Outcome, Result
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import config_for
from tests.engagement.sends.helpers import running_send

LEASE = 120
STEP = timedelta(seconds=10)
STEPS = 30  # 300 s of delivery for one batch: two and a half leases


class SlowPool:
    """An SMTP pool whose delivery takes STEPS steps of frozen time, each STEP long (retries
    against a slow server), then reports every message sent."""

    def __init__(self, traveller: Any) -> None:
        self.traveller = traveller
        self.failure_streak = 0
        self.last_error = ""
        self.is_failing = False

    def __call__(self, config: DeliveryConfig) -> SlowPool:
        return self

    async def deliver(self, sender: str, jobs: Sequence[Job], deadline: float) -> list[Result]:
        for _ in range(STEPS):
            self.traveller.shift(STEP)
            await asyncio.sleep(0)
        return [Result(job.record_id, Outcome.SENT, 250, "ok", 1) for job in jobs]

    async def close(self) -> None:
        return None


@pytest.fixture
def slow_delivery(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Deliver with SlowPool; every heartbeat slice is followed by a recovery sweep (as the
    periodic sweep could run at any moment); returns what each sweep declared lost."""
    monkeypatch.setattr(DeliveryConfig, "heartbeat_seconds", property(lambda self: 0.0))
    swept: list[tuple[timedelta, int]] = []  # (time since the claim, records declared lost)

    def heartbeat_then_sweep(*, batch_id: int) -> bool:
        renewed = heartbeat_of_the_test(batch_id=batch_id)
        _sweep(batch_id, swept)
        return renewed

    heartbeat_of_the_test = batch_heartbeat
    monkeypatch.setattr(pipeline, "batch_heartbeat", heartbeat_then_sweep)

    def run(send_id: int) -> pipeline.LoopReport:
        with time_machine.travel(timezone.now(), tick=False) as traveller:
            monkeypatch.setattr(pipeline, "SmtpPool", SlowPool(traveller))
            return pipeline.send_deliver(
                send_id=send_id, config=config_for(1, batch_size=100, lease_seconds=LEASE)
            )

    return run, swept, monkeypatch


def test_a_batch_delivering_longer_than_the_lease_is_not_declared_lost(
    marketer: User,
    email: Email,
    audience: DataExtension,
    slow_delivery: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    run, swept, _ = slow_delivery
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    report = run(send.id)

    batch = SendBatch.objects.get(send=send)
    # Sweeps ran while the batch was live, the last long after a lease had passed since the
    # claim; none found it stale.
    assert max(elapsed for elapsed, _ in swept) > timedelta(seconds=2 * LEASE)
    assert [lost for _, lost in swept] == [0] * len(swept)
    assert not batch.is_lost
    assert batch.heartbeat_at - batch.claimed_at >= timedelta(seconds=LEASE)
    assert report.finish is FinishState.COMPLETED
    assert Counter(send.records.values_list("status", flat=True)) == {RecordStatus.SENT: 25}
    send.refresh_from_db()
    assert send.status == SendStatus.COMPLETED


def test_control_without_the_renewal_the_same_batch_would_be_declared_lost(
    marketer: User,
    email: Email,
    audience: DataExtension,
    slow_delivery: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    """What the test above guards against: a heartbeat written only at claim and finish."""
    run, swept, monkeypatch = slow_delivery
    monkeypatch.setattr(pipeline, "batch_heartbeat", _sweep_only(swept))
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    run(send.id)

    assert sum(lost for _, lost in swept) == 25
    # Declared lost while its messages were still going out.
    assert SendBatch.objects.get(send=send).is_lost


def _sweep(batch_id: int, swept: list[tuple[timedelta, int]]) -> None:
    batch = SendBatch.objects.get(pk=batch_id)
    lost = send_recover_stale(send_id=batch.send_id, lease_seconds=LEASE)
    swept.append((timezone.now() - batch.claimed_at, lost))


def _sweep_only(swept: list[tuple[timedelta, int]]) -> Any:
    def sweep(*, batch_id: int) -> bool:
        _sweep(batch_id, swept)
        return True

    return sweep
