"""Service: held CRM-audience sends start again once Connect is available.

Within a minute of it, whichever way Connect comes back: when the upgrade completes or is
rolled back (on commit), at the end of a scheduled outage (a task planned for that moment),
and, should either be missed (a worker down then), by a check every minute.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction

from tandem.engagement.connect.availability import Availability, connect_availability
from tandem.engagement.connect.models import Outage
from tandem.engagement.sends import queue
from tandem.engagement.sends.models import Send, SendStatus

RESUME_TASK = "engagement.connect.held_sends_resume"


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


def held_sends_resume_all() -> int:
    """The per-minute check: every account with held sends whose Connect is back."""
    accounts = set(Send.objects.filter(status=SendStatus.HELD).values_list("account_id", flat=True))
    return sum(held_sends_resume(account_id=account_id) for account_id in sorted(accounts))


def resume_after_commit(account_id: int) -> None:
    """Connect is back once this transaction commits (upgrade completed or rolled back)."""
    transaction.on_commit(lambda: held_sends_resume(account_id=account_id))


def resume_at_outage_end(outage: Outage) -> None:
    """Plan the resumption for the moment the outage ends (queued once this commits)."""
    account_id, ends_at = outage.account_id, outage.ends_at
    transaction.on_commit(lambda: _resume_planned(account_id, ends_at))


def _resume_planned(account_id: int, eta: datetime) -> None:
    # The task object, not its name: a web process has not discovered the workers' tasks.
    from tandem.engagement.connect.tasks import held_sends_resume_task

    held_sends_resume_task.apply_async(kwargs={"account_id": account_id}, eta=eta)
