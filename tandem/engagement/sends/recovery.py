"""After a crash or restart: lost batches become `unknown`, stalled and due sends go on."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from tandem.engagement.sends import queue
from tandem.engagement.sends.claims import FinishState, send_finish_if_done, send_recover_stale
from tandem.engagement.sends.conf import delivery_config
from tandem.engagement.sends.models import Send, SendBatch, SendStatus


def sends_recover(*, send_id: int | None = None) -> None:
    """Check every running send (or one) and every due scheduled send."""
    lease = delivery_config().lease_seconds
    running = Send.objects.filter(status=SendStatus.RUNNING, is_test=False)
    if send_id is not None:
        running = running.filter(pk=send_id)
    for running_id in list(running.values_list("id", flat=True)):
        _recover_running(running_id, lease)
    due = Send.objects.filter(status=SendStatus.SCHEDULED, scheduled_at__lte=timezone.now())
    for due_id in list(due.values_list("id", flat=True)):
        queue.enqueue_begin(due_id)


def _recover_running(send_id: int, lease: int) -> None:
    send_recover_stale(send_id=send_id, lease_seconds=lease)
    state = send_finish_if_done(send_id=send_id)
    if state is FinishState.REMAINING and not _has_live_batches(send_id, lease):
        queue.enqueue_deliveries(send_id)
    elif state in (FinishState.WAITING, FinishState.REMAINING):
        # Someone holds batches: look again once a lost holder's lease must have run out.
        queue.enqueue_recover(send_id, countdown=lease + 1)


def _has_live_batches(send_id: int, lease: int) -> bool:
    cutoff = timezone.now() - timedelta(seconds=lease)
    return SendBatch.objects.filter(
        send_id=send_id, finished_at__isnull=True, heartbeat_at__gte=cutoff
    ).exists()
