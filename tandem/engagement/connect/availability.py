"""Whether Connect can serve a CRM-audience send now (read by the sends admission point)."""

from __future__ import annotations

import enum

from django.utils import timezone

from tandem.engagement.connect.models import ConnectionState, CrmConnection, Outage

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
AUDIENCE_NOT_BUILT_REASON = (
    "Sends to CRM audiences through Marketing Cloud Connect are not available in this version"
)


def crm_send_admission(account_id: int) -> tuple[str, str]:
    """("admit" | "refuse" | "hold", reason) for a send whose audience comes from the CRM."""
    availability = connect_availability(account_id)
    if availability is Availability.NOT_CONFIGURED:
        return "refuse", NOT_CONFIGURED_REASON
    if availability is Availability.HOLD:
        return "hold", UNAVAILABLE_REASON
    if availability is Availability.UNAVAILABLE:
        return "refuse", UNAVAILABLE_REASON
    # Reading report, campaign, contact, lead and SFDE audiences from the CRM is a later piece.
    return "refuse", AUDIENCE_NOT_BUILT_REASON
