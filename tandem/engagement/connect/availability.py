"""Whether Connect can serve a CRM-audience send now (read by the sends admission point)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from celery import current_app
from django.db import transaction
from django.utils import timezone

from tandem.engagement.connect.models import (
    AudienceState,
    ConnectionState,
    CrmAudience,
    CrmConnection,
    Outage,
)
from tandem.engagement.sends.crm_gate import NOT_CONFIGURED

if TYPE_CHECKING:
    from tandem.engagement.sends.models import Send

MATERIALIZE_TASK = "engagement.connect.audience_materialize"
STALE_AFTER = timedelta(minutes=10)  # a reading worker that died: queue the read again
# The seed's words for a send stopped by the upgrade; an outage names itself.
UNAVAILABLE_REASON = "Marketing Cloud Connect is unavailable during the Connected App upgrade"
OUTAGE_REASON = "Marketing Cloud Connect is unavailable during a scheduled outage"
NOT_CONFIGURED_REASON = NOT_CONFIGURED  # the sends' own wording


class Availability(enum.Enum):
    NOT_CONFIGURED = "not_configured"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"  # the send fails with UNAVAILABLE_REASON
    HOLD = "hold"  # the account chose to hold such sends until Connect is back


def outage_active(account_id: int) -> bool:
    """A scheduled outage covers this moment."""
    return outage_end(account_id) is not None


def outage_end(account_id: int) -> datetime | None:
    """When the outage covering this moment ends (outages that overlap it count as one)."""
    now = timezone.now()
    outages = Outage.objects.filter(account_id=account_id, ends_at__gt=now).order_by("starts_at")
    end: datetime | None = None
    for outage in outages:
        if outage.starts_at > (end or now):
            break
        end = max(end or outage.ends_at, outage.ends_at)
    return end


def connect_availability(account_id: int) -> Availability:
    """Upgrading or inside an outage: unavailable (or hold, per the account's option)."""
    return connect_status(account_id).availability


@dataclass(frozen=True)
class ConnectStatus:
    """Whether Connect serves CRM audiences now; if not, what stopped it and until when."""

    availability: Availability
    upgrading: bool = False
    outage_ends_at: datetime | None = None

    @property
    def reason(self) -> str:
        """What a failed or held send shows: the upgrade or the outage, and until when."""
        if self.availability is Availability.NOT_CONFIGURED:
            return NOT_CONFIGURED_REASON
        if self.upgrading:
            if self.availability is Availability.HOLD:
                return (
                    f"{UNAVAILABLE_REASON}; the send resumes by itself once the upgrade "
                    "completes (or is rolled back)"
                )
            return f"{UNAVAILABLE_REASON}, until it completes (or is rolled back)"
        if self.outage_ends_at is not None:
            until = f"{self.outage_ends_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            if self.availability is Availability.HOLD:
                return f"{OUTAGE_REASON}; the send resumes by itself at its end, {until}"
            return f"{OUTAGE_REASON}, until {until}"
        return ""


def connect_status(account_id: int) -> ConnectStatus:
    """Upgrading or inside an outage: unavailable (or hold, per the account's option)."""
    connection = CrmConnection.objects.filter(account_id=account_id).first()
    if connection is None:
        return ConnectStatus(Availability.NOT_CONFIGURED)
    upgrading = connection.state == ConnectionState.UPGRADING
    end = outage_end(account_id)
    if not upgrading and end is None:
        return ConnectStatus(Availability.AVAILABLE)
    stopped = Availability.HOLD if connection.hold_crm_sends else Availability.UNAVAILABLE
    return ConnectStatus(stopped, upgrading=upgrading, outage_ends_at=end)


def crm_send_admission(account_id: int, send: Send | None = None) -> tuple[str, str]:
    """("admit" | "refuse" | "hold" | "wait", reason) for a send whose audience is in the CRM.

    "wait": Connect reads the audience into a data extension first, then begins the send again.
    """
    status = connect_status(account_id)
    if status.availability is Availability.NOT_CONFIGURED:
        return "refuse", status.reason
    if status.availability is Availability.HOLD:
        return "hold", status.reason
    if status.availability is Availability.UNAVAILABLE:
        return "refuse", status.reason
    if send is not None and send.data_extension_id is None:
        return crm_audience_admission(send)
    return "admit", ""


def crm_audience_admission(send: Send) -> tuple[str, str]:
    """("wait" | "refuse", reason) for an admitted CRM-audience send not yet materialized.

    Nothing is fetched here (this runs under send_begin's row lock): the first time, a pending
    CrmAudience is recorded and Connect's task, queued after commit, reads the audience.
    """
    audience, created = CrmAudience.objects.get_or_create(
        send_id=send.pk, defaults={"account_id": send.account_id}
    )
    if audience.state == AudienceState.FAILED:
        return "refuse", audience.failure_reason
    stale = audience.updated_at < timezone.now() - STALE_AFTER
    if created or audience.state == AudienceState.PENDING or stale:
        send_id = send.pk
        transaction.on_commit(lambda: _enqueue_materialize(send_id))
    return "wait", ""


def _enqueue_materialize(send_id: int) -> None:
    # By name: the sends app reaches this module, and must not import Connect's CRM client.
    current_app.tasks[MATERIALIZE_TASK].delay(send_id)


def enqueue_materialize_later(send_id: int, seconds: int) -> None:
    """Read the send's CRM audience again in `seconds` (the CRM did not answer)."""
    current_app.tasks[MATERIALIZE_TASK].apply_async(args=(send_id,), countdown=seconds)


class ConnectGate:
    """Connect's answers to the sends' CRM gate (tandem/engagement/sends/crm_gate.py)."""

    def connected(self, account_id: int) -> bool:
        return CrmConnection.objects.filter(account_id=account_id).exists()

    def admission(self, account_id: int, send: Send) -> tuple[str, str]:
        return crm_send_admission(account_id, send)
