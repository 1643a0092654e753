"""Whether Connect can serve a CRM-audience send now (read by the sends admission point)."""

from __future__ import annotations

import enum
from datetime import timedelta
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

if TYPE_CHECKING:
    from tandem.engagement.sends.models import Send

MATERIALIZE_TASK = "engagement.connect.audience_materialize"
STALE_AFTER = timedelta(minutes=10)  # a reading worker that died: queue the read again
UNAVAILABLE_REASON = "Marketing Cloud Connect is unavailable during the Connected App upgrade"


class Availability(enum.Enum):
    NOT_CONFIGURED = "not_configured"
    AVAILABLE = "available"
    UNAVAILABLE = "unavailable"  # the send fails with UNAVAILABLE_REASON
    HOLD = "hold"  # the account chose to hold such sends until Connect is back


def outage_active(account_id: int) -> bool:
    """A scheduled outage covers this moment."""
    now = timezone.now()
    return Outage.objects.filter(
        account_id=account_id, starts_at__lte=now, ends_at__gt=now
    ).exists()


def connect_availability(account_id: int) -> Availability:
    """Upgrading or inside an outage: unavailable (or hold, per the account's option)."""
    connection = CrmConnection.objects.filter(account_id=account_id).first()
    if connection is None:
        return Availability.NOT_CONFIGURED
    if connection.state == ConnectionState.UPGRADING or outage_active(account_id):
        return Availability.HOLD if connection.hold_crm_sends else Availability.UNAVAILABLE
    return Availability.AVAILABLE


NOT_CONFIGURED_REASON = (
    "Sends to CRM audiences need Marketing Cloud Connect, which is not set up for this account"
)


def crm_send_admission(account_id: int, send: Send | None = None) -> tuple[str, str]:
    """("admit" | "refuse" | "hold" | "wait", reason) for a send whose audience is in the CRM.

    "wait": Connect reads the audience into a data extension first, then begins the send again.
    """
    availability = connect_availability(account_id)
    if availability is Availability.NOT_CONFIGURED:
        return "refuse", NOT_CONFIGURED_REASON
    if availability is Availability.HOLD:
        return "hold", UNAVAILABLE_REASON
    if availability is Availability.UNAVAILABLE:
        return "refuse", UNAVAILABLE_REASON
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
