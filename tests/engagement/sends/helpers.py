"""Start a send without a broker (create, schedule, begin in-process); connect an account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import Send
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email

C1, C2, L1 = "003000000000001AAA", "003000000000002AAA", "00Q000000000001AAA"


def running_send(
    marketer: User, email: Email, audience: DataExtension, capture: Callable[..., Any]
) -> Send:
    """A send that is running, its audience snapshotted; no task is enqueued."""
    assert marketer.account is not None
    send = send_create(
        actor=marketer,
        account=marketer.account,
        name="Spring",
        email=email,
        data_extension=audience,
    )
    with capture(execute=False):
        send_schedule(actor=marketer, send=send)
    with capture(execute=False):
        started = send_begin(send_id=send.id)
    assert started is not None
    return started


def connect(account: Account) -> CrmConnection:
    """Marketing Cloud Connect set up for `account` (its CRM is never called by these tests)."""
    return CrmConnection.objects.create(
        account=account,
        login_url="https://crm.test",
        instance_url="https://crm.test",
        org_id="00D000000000001AAA",
        system_username="system@acme.test",
        system_user_id="005000000000001AAA",
    )
