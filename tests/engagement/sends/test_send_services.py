"""Creating, scheduling, starting, pausing and cancelling sends; the audience snapshot."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.sends.crm_gate import NOT_CONFIGURED as CONNECT_NOT_CONFIGURED
from tandem.engagement.sends.errors import SendInvalidError, SendStateError
from tandem.engagement.sends.models import (
    AudienceKind,
    RecordStatus,
    Send,
    SendEvent,
    SendRecord,
    SendStatus,
    Suppression,
)
from tandem.engagement.sends.services import (
    send_begin,
    send_cancel,
    send_create,
    send_pause,
    send_resume,
    send_schedule,
)
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import make_audience
from tests.engagement.sends.helpers import running_send


def create(marketer: User, email: Email, audience: DataExtension | None, **extra: Any) -> Send:
    assert marketer.account is not None
    return send_create(
        actor=marketer,
        account=marketer.account,
        name="Spring",
        email=email,
        data_extension=audience,
        **extra,
    )


def test_create_makes_an_audited_draft(
    marketer: User, email: Email, audience: DataExtension
) -> None:
    send = create(marketer, email, audience)

    assert send.status == SendStatus.DRAFT
    assert send.audience_kind == AudienceKind.DATA_EXTENSION
    event = SendEvent.objects.get(send=send)
    assert (event.action, event.actor_label) == ("send.created", "mia")


def test_create_refuses_a_data_extension_that_is_not_sendable(
    marketer: User, email: Email, audience: DataExtension
) -> None:
    DataExtension.objects.filter(pk=audience.pk).update(is_sendable=False)
    audience.refresh_from_db()

    with pytest.raises(SendInvalidError, match="not sendable") as caught:
        create(marketer, email, audience)

    assert caught.value.field == "data_extension"
    assert not Send.objects.exists()


def test_create_refuses_another_accounts_data_extension(
    marketer: User, email: Email, other_account: Account
) -> None:
    foreign = make_audience(other_account, 1, name="Theirs")

    with pytest.raises(SendInvalidError, match="data extension of this account"):
        create(marketer, email, foreign)

    assert not Send.objects.exists()


def test_create_refuses_a_personalization_string_that_is_not_a_column(
    marketer: User, email: Email, audience: DataExtension
) -> None:
    Email.objects.filter(pk=email.pk).update(subject="Hi %%Nickname%%")
    email.refresh_from_db()

    with pytest.raises(SendInvalidError, match="%%Nickname%% in the email is not a column"):
        create(marketer, email, audience)

    assert not Send.objects.exists()


def test_create_refuses_a_malformed_personalization_string(
    marketer: User, email: Email, audience: DataExtension
) -> None:
    Email.objects.filter(pk=email.pk).update(text_body="Hi %%FirstName")
    email.refresh_from_db()

    with pytest.raises(SendInvalidError, match="unclosed personalization string"):
        create(marketer, email, audience)

    assert not Send.objects.exists()


def test_schedule_in_the_past_is_refused(
    marketer: User, email: Email, audience: DataExtension
) -> None:
    send = create(marketer, email, audience)

    with pytest.raises(SendInvalidError, match="future"):
        send_schedule(actor=marketer, send=send, at=timezone.now() - timedelta(minutes=5))

    send.refresh_from_db()
    assert send.status == SendStatus.DRAFT


def test_a_send_scheduled_for_later_does_not_begin_early(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = create(marketer, email, audience)
    with django_capture_on_commit_callbacks(execute=False):
        send_schedule(actor=marketer, send=send, at=timezone.now() + timedelta(hours=1))

    assert send_begin(send_id=send.id) is None

    send.refresh_from_db()
    assert send.status == SendStatus.SCHEDULED
    assert not SendRecord.objects.exists()


def test_begin_snapshots_one_record_per_subscriber_key(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    DataExtensionRow.objects.create(
        data_extension=audience,
        key="dup",
        values={"SubscriberKey": "S00001", "EmailAddress": "again@example.test", "FirstName": "X"},
    )

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    assert send.status == SendStatus.RUNNING
    assert send.records.count() == 25
    assert send.duplicates_skipped == 1
    assert send.records.get(subscriber_key="S00001").email == "user1@example.test"
    assert send.records.get(subscriber_key="S00002").values == {
        "SubscriberKey": "S00002",
        "FirstName": "Name2",
    }


def test_begin_never_queues_unsubscribed_subscribers(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    Suppression.objects.create(account=marketer.account, subscriber_key="S00004")

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    assert send.records.get(subscriber_key="S00004").status == RecordStatus.FAILED
    assert send.suppressed_skipped == 1


def test_begin_records_invalid_addresses_as_failed_with_the_reason(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    DataExtensionRow.objects.create(
        data_extension=audience,
        key="bad",
        values={"SubscriberKey": "bad", "EmailAddress": "not an address", "FirstName": "X"},
    )

    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    record = send.records.get(subscriber_key="bad")
    assert record.status == RecordStatus.FAILED
    assert "invalid email address 'not an address'" in record.error


def test_a_crm_audience_send_fails_at_the_admission_gate(
    marketer: User, email: Email, django_capture_on_commit_callbacks: Any
) -> None:
    send = create(
        marketer, email, None, audience_kind=AudienceKind.REPORT, audience_ref="00O000000000001"
    )
    with django_capture_on_commit_callbacks(execute=False):
        send_schedule(actor=marketer, send=send)

    send_begin(send_id=send.id)

    send.refresh_from_db()
    assert send.status == SendStatus.FAILED
    assert send.failure_reason == CONNECT_NOT_CONFIGURED
    assert not send.records.exists()


def test_pause_resume_and_cancel_are_audited(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    send_pause(actor=marketer, send=send)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        send_resume(actor=marketer, send=send)
    send_cancel(actor=marketer, send=send)

    send.refresh_from_db()
    assert send.status == SendStatus.CANCELLED
    assert len(callbacks) == 1
    actions = list(
        SendEvent.objects.filter(send=send).order_by("id").values_list("action", flat=True)
    )
    assert actions[-3:] == ["send.paused", "send.resumed", "send.cancelled"]


def test_a_completed_send_cannot_be_paused(
    marketer: User, email: Email, audience: DataExtension
) -> None:
    send = create(marketer, email, audience)
    Send.objects.filter(pk=send.pk).update(status=SendStatus.COMPLETED)

    with pytest.raises(SendStateError, match="cannot be paused"):
        send_pause(actor=marketer, send=send)

    send.refresh_from_db()
    assert send.status == SendStatus.COMPLETED
