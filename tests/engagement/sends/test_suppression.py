"""Hard bounces (5xx for a recipient) suppress the subscriber for later sends; 4xx never does."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import RecordStatus, Suppression, SuppressionReason
from tandem.engagement.sends.pipeline import send_deliver
from tandem.engagement.sends.services import send_test
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink, config_for
from tests.engagement.sends.helpers import running_send


def refuse(address: str) -> str | None:
    return (
        "550 5.1.1 No such user"
        if address in ("user3@example.test", "user8@example.test")
        else None
    )


def test_a_5xx_for_a_recipient_suppresses_it_with_the_smtp_code_and_text(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.rcpt_reply = refuse
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(sink.port))

    suppressions = Suppression.objects.filter(account=marketer.account).order_by("subscriber_key")
    assert [(s.subscriber_key, s.reason, s.smtp_code) for s in suppressions] == [
        ("S00003", SuppressionReason.HARD_BOUNCE, 550),
        ("S00008", SuppressionReason.HARD_BOUNCE, 550),
    ]
    assert "550 5.1.1 No such user" in suppressions[0].detail
    assert suppressions[0].record == send.records.get(subscriber_key="S00003")


def test_a_later_send_records_hard_bounced_subscribers_as_failed_and_never_offers_them(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.rcpt_reply = refuse
    first = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    send_deliver(send_id=first.id, config=config_for(sink.port))
    sink.rcpt_reply = lambda address: None
    sink.messages.clear()

    later = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    send_deliver(send_id=later.id, config=config_for(sink.port))

    record = later.records.get(subscriber_key="S00003")
    assert record.status == RecordStatus.FAILED
    assert record.error.startswith("suppressed: hard_bounce (550 5.1.1 No such user")
    assert record.smtp_code == 550
    assert later.suppressed_skipped == 2
    assert (
        sorted(
            m["To"]
            for m in sink.messages
            if m["To"] in ("user3@example.test", "user8@example.test")
        )
        == []
    )
    assert len(sink.messages) == 23
    assert Counter(later.records.values_list("status", flat=True)) == {
        RecordStatus.SENT: 23,
        RecordStatus.FAILED: 2,
    }


def test_unsubscribed_subscribers_are_recorded_as_failed_with_the_reason(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    Suppression.objects.create(account=marketer.account, subscriber_key="S00004")

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    record = send.records.get(subscriber_key="S00004")
    assert (record.status, record.error) == (RecordStatus.FAILED, "suppressed: unsubscribed")
    assert send.suppressed_skipped == 1
    assert send.records.filter(status=RecordStatus.QUEUED).count() == 24


def test_4xx_until_attempts_run_out_fails_the_recipient_without_suppressing_it(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.rcpt_reply = lambda address: (
        "452 4.2.2 Mailbox full" if address == "user5@example.test" else None
    )
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(
        send_id=send.id,
        config=config_for(sink.port, retry_attempts=2, max_attempts=2, breaker_batches=10),
    )

    record = send.records.get(subscriber_key="S00005")
    assert record.status == RecordStatus.FAILED
    assert "gave up after 2 attempts" in record.error
    assert not Suppression.objects.exists()


def test_an_earlier_unsubscribe_is_kept_when_the_address_then_bounces(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.rcpt_reply = refuse
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    Suppression.objects.create(account=marketer.account, subscriber_key="S00003")

    send_deliver(send_id=send.id, config=config_for(sink.port))

    assert Suppression.objects.get(subscriber_key="S00003").reason == SuppressionReason.UNSUBSCRIBED
    assert Suppression.objects.get(subscriber_key="S00008").reason == SuppressionReason.HARD_BOUNCE


def test_a_bounced_test_send_suppresses_nobody(
    settings: Any, marketer: User, email: Email, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port
    sink.rcpt_reply = lambda address: "550 5.1.1 No such user"

    send = send_test(actor=marketer, email=email, addresses=["user3@example.test"])

    assert send.records.get().status == RecordStatus.BOUNCED
    assert not Suppression.objects.exists()


def test_suppression_is_per_account(
    marketer: User,
    outsider: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    sink.rcpt_reply = refuse
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_deliver(send_id=send.id, config=config_for(sink.port))

    assert not Suppression.objects.filter(account=outsider.account).exists()
