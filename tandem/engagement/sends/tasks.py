"""Celery tasks of the sends app: thin adapters with stable names."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from tandem.engagement.sends import queue, recovery
from tandem.engagement.sends.claims import FinishState
from tandem.engagement.sends.conf import delivery_config
from tandem.engagement.sends.pipeline import send_deliver
from tandem.engagement.sends.services import send_begin


@shared_task(name=queue.BEGIN_TASK)
def send_begin_task(send_id: int) -> None:
    """Admit, snapshot and start a scheduled send."""
    send_begin(send_id=send_id)


@shared_task(name=queue.DELIVER_TASK)
def send_deliver_task(send_id: int) -> None:
    """Run one delivery loop; when others still hold batches, check back after the lease."""
    report = send_deliver(send_id=send_id)
    if report.finish is FinishState.WAITING:
        queue.enqueue_recover(send_id, countdown=delivery_config().lease_seconds + 1)


@shared_task(name=queue.RECOVER_TASK)
def send_recover_task(send_id: int | None = None) -> None:
    """Recover lost batches, restart stalled sends, begin due ones."""
    recovery.sends_recover(send_id=send_id)


@worker_ready.connect
def _recover_on_worker_start(**_kwargs: Any) -> None:
    """A worker that starts (after a crash, say) looks for work left behind."""
    queue.enqueue_recover(None)
