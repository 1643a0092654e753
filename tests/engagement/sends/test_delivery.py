"""The delivery pipeline against a real SMTP server on loopback."""

from __future__ import annotations

from collections import Counter

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.claims import FinishState
from tandem.engagement.sends.models import RecordStatus, Send, SendStatus
from tandem.engagement.sends.pipeline import send_deliver
from tandem.engagement.sends.services import send_begin, send_create, send_schedule
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink, config_for


def start(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks
) -> Send:  # type: ignore[no-untyped-def]
    send = send_create(actor=marketer, account=marketer.account, name="Spring", email=email,
                       data_extension=audience)  # fmt: skip
    with django_capture_on_commit_callbacks(execute=False):
        send_schedule(actor=marketer, send=send)
    with django_capture_on_commit_callbacks(execute=False):
        started = send_begin(send_id=send.id)
    assert started is not None
    return started


def test_every_recipient_gets_exactly_one_message(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks,
) -> None:
    send = start(marketer, email, audience, django_capture_on_commit_callbacks)

    report = send_deliver(send_id=send.id, config=config_for(sink.port))

    assert report.finish is FinishState.COMPLETED
    assert len(sink.messages) == 25
    assert Counter(sink.message_ids).most_common(1)[0][1] == 1
    assert set(send.records.values_list("status", flat=True)) == {RecordStatus.SENT}
    send.refresh_from_db()
    assert send.status == SendStatus.COMPLETED
