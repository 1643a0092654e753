"""Outages and the hold option: when CRM-audience sends pause, and whether they wait or fail."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import CrmConnection, Outage
from tandem.engagement.connect.resume import resume_at_outage_end
from tandem.engagement.connect.services.records import audit


@transaction.atomic
def connection_options_update(
    *, actor: User, connection: CrmConnection, hold_crm_sends: bool
) -> None:
    """The account's choice: hold CRM-audience sends during an outage instead of failing them."""
    old = connection.hold_crm_sends
    CrmConnection.objects.filter(pk=connection.pk).update(hold_crm_sends=hold_crm_sends)
    audit(connection, actor, "connect.options_changed", "hold_crm_sends", old, hold_crm_sends)


@transaction.atomic
def outage_schedule(*, actor: User, account: Account, starts_at: datetime, hours: float) -> Outage:
    """Schedule a Connect outage of `hours` from `starts_at`."""
    if not 0 < hours <= 72:
        raise ConnectError("Choose a duration between a few minutes and 72 hours.", "duration")
    if starts_at < timezone.now() - timedelta(minutes=5):
        raise ConnectError("Choose a start time in the future.", "starts_at")
    outage = Outage.objects.create(
        account=account,
        starts_at=starts_at,
        created_by=actor,
        ends_at=starts_at + timedelta(hours=hours),
    )
    resume_at_outage_end(outage)
    audit(
        account,
        actor,
        "connect.outage_scheduled",
        str(outage),
        None,
        {"starts_at": outage.starts_at.isoformat(), "ends_at": outage.ends_at.isoformat()},
    )
    return outage
