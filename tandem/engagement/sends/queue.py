"""Enqueue the sends tasks (called from services after commit).

Tasks are looked up by name in Celery's registry, so this module imports neither `tasks` nor
anything `tasks` imports (services, recovery): no import cycle through the queue.
"""

from __future__ import annotations

from datetime import datetime

from celery import current_app

from tandem.engagement.sends.conf import delivery_config

BEGIN_TASK = "engagement.sends.send_begin"
DELIVER_TASK = "engagement.sends.send_deliver"
RECOVER_TASK = "engagement.sends.send_recover"


def enqueue_begin(send_id: int, *, eta: datetime | None = None) -> None:
    """Start the send at `eta` (or now) on a worker."""
    task = current_app.tasks[BEGIN_TASK]
    if eta is None:
        task.apply_async(args=(send_id,))
    else:
        task.apply_async(args=(send_id,), eta=eta)


def enqueue_deliveries(send_id: int) -> None:
    """Start the configured number of delivery loops for the send."""
    task = current_app.tasks[DELIVER_TASK]
    for _ in range(delivery_config().parallelism):
        task.delay(send_id)


def enqueue_recover(send_id: int | None = None, *, countdown: float = 0) -> None:
    """Look for lost batches and due or stalled sends."""
    current_app.tasks[RECOVER_TASK].apply_async(args=(send_id,), countdown=countdown)
