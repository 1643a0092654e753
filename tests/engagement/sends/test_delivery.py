"""The delivery pipeline against real SMTP servers on loopback, well-behaved and faulty."""

from __future__ import annotations

import threading
from collections import Counter
from email.message import EmailMessage
from typing import Any

from tandem.cli.ports import free_port
from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.claims import FinishState, batch_claim, send_recover_stale
from tandem.engagement.sends.models import RecordStatus, SendBatch, SendStatus
from tandem.engagement.sends.pipeline import send_deliver
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink, config_for
from tests.engagement.sends.helpers import running_send


def statuses(send: Any) -> Counter[str]:
    return Counter(send.records.values_list("status", flat=True))


def waiting_as_queued(send: Any) -> Counter[str]:
    """Statuses with records queued again counted as queued: both wait for a claim."""
    counts = statuses(send)
    counts[RecordStatus.QUEUED] += counts.pop(RecordStatus.RETRY, 0)
    return +counts


def test_every_recipient_gets_exactly_one_message(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    report = send_deliver(send_id=send.id, config=config_for(sink.port))

    assert report.finish is FinishState.COMPLETED
    assert len(sink.messages) == 25
    assert max(Counter(sink.message_ids).values()) == 1
    assert statuses(send) == {RecordStatus.SENT: 25}
    send.refresh_from_db()
    assert send.status == SendStatus.COMPLETED


def test_each_message_carries_id_and_one_click_unsubscribe_headers(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(sink.port))

    record = send.records.get(subscriber_key="S00003")
    message = next(m for m in sink.messages if m["To"] == "user3@example.test")
    assert message["Message-ID"] == f"<tandem.{send.id}.{record.id}@northwind.test>"
    assert message["List-Unsubscribe"].startswith("<http")
    assert message["List-Unsubscribe"].endswith("/u>")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_messages_are_personalized_in_subject_text_and_html(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(sink.port))

    message = next(m for m in sink.messages if m["To"] == "user7@example.test")
    assert isinstance(message, EmailMessage)
    assert message["Subject"] == "Welcome, Name7"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().strip() == "Hi Name7, write to user7@example.test."
    assert "<p>Hi Name7</p>" in html.get_content()
    assert "/o.gif" in html.get_content()
    assert "northwind.test/offer" not in html.get_content()


def test_5xx_for_some_addresses_bounces_them_and_delivers_the_rest(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.rcpt_reply = lambda address: (
        "550 5.1.1 No such user" if address.startswith("user1") else None
    )
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    report = send_deliver(send_id=send.id, config=config_for(sink.port))

    bounced = set(send.records.filter(status=RecordStatus.BOUNCED).values_list("email", flat=True))
    assert bounced == {"user1@example.test"} | {f"user{i}@example.test" for i in range(10, 20)}
    assert statuses(send)[RecordStatus.SENT] == 25 - 11
    assert len(sink.messages) == 14
    assert (
        "550 5.1.1 No such user" in send.records.filter(status=RecordStatus.BOUNCED).first().error
    )
    assert report.finish is FinishState.COMPLETED


def test_4xx_for_a_while_then_recovering_delivers_everyone_once(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    refusals = iter(range(12))
    lock = threading.Lock()

    def greylist(address: str) -> str | None:
        with lock:
            return "451 4.7.1 Try again later" if next(refusals, None) is not None else None

    sink.rcpt_reply = greylist
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    report = send_deliver(send_id=send.id, config=config_for(sink.port, breaker_batches=10))

    assert report.finish is FinishState.COMPLETED
    assert statuses(send) == {RecordStatus.SENT: 25}
    assert sorted(Counter(sink.message_ids).values()) == [1] * 25


def test_server_down_pauses_the_send_with_a_clear_reason_and_sends_nothing(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    port = free_port()
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(port))

    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert f"cannot connect to SMTP server 127.0.0.1:{port}" in send.failure_reason
    assert waiting_as_queued(send) == {RecordStatus.QUEUED: 25}


def test_after_the_server_comes_back_resume_delivers_everyone_once(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tandem.engagement.sends.services import send_resume

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    send_deliver(send_id=send.id, config=config_for(free_port()))
    with django_capture_on_commit_callbacks(execute=False):
        send_resume(actor=marketer, send=send)

    send_deliver(send_id=send.id, config=config_for(sink.port))

    assert statuses(send) == {RecordStatus.SENT: 25}
    assert sorted(Counter(sink.message_ids).values()) == [1] * 25


def test_no_reply_after_data_is_unknown_and_never_resent(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    calls = iter(range(1000))
    release = threading.Event()

    def stall_first_message() -> str | None:
        if next(calls) == 0:
            release.wait(5)  # longer than the client's timeout: the reply never comes in time
        return None

    sink.data_reply = stall_first_message
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    report = send_deliver(send_id=send.id, config=config_for(sink.port, timeout=0.5, connections=1))
    release.set()

    unknown = send.records.filter(status=RecordStatus.UNKNOWN)
    assert unknown.count() == 1
    assert "outcome unknown, not resent" in unknown.get().error
    assert statuses(send)[RecordStatus.SENT] == 24
    assert report.finish is FinishState.COMPLETED


def test_a_lost_workers_batch_becomes_unknown_and_is_not_resent(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    lost = batch_claim(send_id=send.id, worker="crashed", size=10)
    assert lost is not None
    SendBatch.objects.filter(pk=lost.id).update(heartbeat_at="2000-01-01T00:00:00Z")

    first = send_deliver(send_id=send.id, config=config_for(sink.port))
    made_unknown = send_recover_stale(send_id=send.id, lease_seconds=60)
    second = send_deliver(send_id=send.id, config=config_for(sink.port))

    assert first.finish is FinishState.WAITING
    assert made_unknown == 10
    assert second.finish is FinishState.COMPLETED
    assert statuses(send) == {RecordStatus.SENT: 15, RecordStatus.UNKNOWN: 10}
    lost_ids = {r.record_id for r in lost.recipients}
    sent_to = {m["Message-ID"] for m in sink.messages}
    assert not any(f".{record_id}@" in mid for record_id in lost_ids for mid in sent_to)


def test_a_paused_send_claims_nothing(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from tandem.engagement.sends.services import send_pause

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    send_pause(actor=marketer, send=send)

    report = send_deliver(send_id=send.id, config=config_for(sink.port))

    assert report.batches == 0
    assert sink.messages == []
    assert waiting_as_queued(send) == {RecordStatus.QUEUED: 25}


def test_a_relay_refusing_the_sender_pauses_the_send_and_bounces_nobody(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.mail_reply = lambda address: "554 5.7.1 Relay access denied"
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(sink.port))

    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert "554 5.7.1 Relay access denied" in send.failure_reason
    assert waiting_as_queued(send) == {RecordStatus.QUEUED: 25}
    assert sink.messages == []


def test_a_server_rejecting_every_recipient_pauses_before_burning_the_list(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.rcpt_reply = lambda address: "550 5.1.1 Mailbox unavailable"
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(sink.port, batch_size=5))

    send.refresh_from_db()
    assert send.status == SendStatus.PAUSED
    assert waiting_as_queued(send) == {RecordStatus.BOUNCED: 15, RecordStatus.QUEUED: 10}
