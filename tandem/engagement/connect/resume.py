"""Held CRM-audience sends start again once Connect is available."""

from __future__ import annotations

from tandem.engagement.connect.availability import Availability, connect_availability
from tandem.engagement.sends import queue
from tandem.engagement.sends.models import Send, SendStatus


def held_sends_resume(*, account_id: int) -> int:
    """Queue the account's held sends for admission again; returns how many."""
    if connect_availability(account_id) in (Availability.UNAVAILABLE, Availability.HOLD):
        return 0
    ids = list(
        Send.objects.filter(account_id=account_id, status=SendStatus.HELD).values_list(
            "id", flat=True
        )
    )
    for send_id in ids:
        queue.enqueue_begin(send_id, eta=None)
    return len(ids)
