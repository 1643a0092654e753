"""Enqueue the sends tasks (called from services after commit)."""

from __future__ import annotations

from datetime import datetime

from tandem.engagement.sends.conf import delivery_config


def enqueue_begin(send_id: int, *, eta: datetime | None = None) -> None:
    """Start the send at `eta` (or now) on a worker."""
    from tandem.engagement.sends.tasks import send_begin_task

    if eta is None:
        send_begin_task.apply_async(args=(send_id,))
    else:
        send_begin_task.apply_async(args=(send_id,), eta=eta)


def enqueue_deliveries(send_id: int) -> None:
    """Start the configured number of delivery loops for the send."""
    from tandem.engagement.sends.tasks import send_deliver_task

    for _ in range(delivery_config().parallelism):
        send_deliver_task.delay(send_id)


def enqueue_recover(send_id: int | None = None, *, countdown: float = 0) -> None:
    """Look for lost batches and due or stalled sends."""
    from tandem.engagement.sends.tasks import send_recover_task

    send_recover_task.apply_async(args=(send_id,), countdown=countdown)
