"""Start a send without a broker: create, schedule and begin in the test's process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import Send
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email


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
