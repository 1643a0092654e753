"""The one place that decides whether a send may start now, must fail, or must wait.

Sends to the account's own data extensions always start. Audiences from the CRM go through
Marketing Cloud Connect: during the Connected App upgrade or a scheduled outage such sends fail
with the seed's reason or are held (docs/reference/connect.md); otherwise they wait while
Connect reads
the audience into a data extension (connect/audiences.py), then start like any other send.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from tandem.engagement.sends.crm_gate import crm_gate
from tandem.engagement.sends.models import CRM_AUDIENCE_KINDS, Send

CONNECT_UNAVAILABLE = "Marketing Cloud Connect is unavailable during the Connected App upgrade"


class Verdict(enum.Enum):
    ADMIT = "admit"
    REFUSE = "refuse"
    HOLD = "hold"
    WAIT = "wait"  # Connect reads the CRM audience first, then calls send_begin again


@dataclass(frozen=True)
class Admission:
    """The decision and, unless admitted, the reason shown on the send."""

    verdict: Verdict
    reason: str = ""


ADMIT = Admission(Verdict.ADMIT)


def send_admission(send: Send) -> Admission:
    """Decide whether `send` may start now."""
    if send.audience_kind in CRM_AUDIENCE_KINDS:
        return _crm_audience_admission(send)
    return ADMIT


def _crm_audience_admission(send: Send) -> Admission:
    """Marketing Cloud Connect decides (upgrade or outage: fail, or hold per the account)."""
    verdict, reason = crm_gate().admission(send.account_id, send)
    return Admission(Verdict(verdict), reason)
