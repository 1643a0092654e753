"""A send starts once: a second start, a repeated begin task or an extra loop sends nobody twice."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from django.test import Client

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.errors import SendStateError
from tandem.engagement.sends.models import Send, SendRecord, SendStatus
from tandem.engagement.sends.pipeline import send_deliver
from tandem.engagement.sends.services import send_begin, send_create, send_resume, send_schedule
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink, config_for
from tests.engagement.sends.helpers import running_send


@pytest.fixture
def draft(marketer: User, email: Email, audience: DataExtension) -> Send:
    assert marketer.account is not None
    return send_create(
        actor=marketer,
        account=marketer.account,
        name="Spring",
        email=email,
        data_extension=audience,
    )


def test_a_second_schedule_is_refused_and_enqueues_nothing(
    marketer: User, draft: Send, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as first:
        send_schedule(actor=marketer, send=draft)

    with (
        django_capture_on_commit_callbacks(execute=False) as second,
        pytest.raises(SendStateError, match="only a draft can start"),
    ):
        send_schedule(actor=marketer, send=draft)

    assert (len(first), len(second)) == (1, 0)
    assert draft.events.filter(action="send.scheduled").count() == 1


def test_a_double_post_of_the_send_button_schedules_once(
    marketer_client: Client, draft: Send, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = marketer_client.post(f"/email/interactions/{draft.id}/schedule/", {})
        second = marketer_client.post(f"/email/interactions/{draft.id}/schedule/", {})

    assert (first.status_code, second.status_code) == (302, 400)
    assert b"only a draft can start" in second.content
    assert len(callbacks) == 1
    assert draft.events.filter(action="send.scheduled").count() == 1


def test_a_repeated_begin_task_neither_snapshots_again_nor_starts_more_loops(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    ids_before = set(SendRecord.objects.filter(send=send).values_list("id", flat=True))

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        again = send_begin(send_id=send.id)

    assert again is None
    assert callbacks == []
    assert set(SendRecord.objects.filter(send=send).values_list("id", flat=True)) == ids_before
    assert send.events.filter(action="send.started").count() == 1


def test_resume_of_a_running_send_is_refused(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(SendStateError),
    ):
        send_resume(actor=marketer, send=send)

    assert callbacks == []


def test_loops_started_one_after_another_on_the_same_send_send_each_recipient_once(
    marketer: User,
    email: Email,
    audience: DataExtension,
    sink: Sink,
    django_capture_on_commit_callbacks: Any,
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)

    reports = [send_deliver(send_id=send.id, config=config_for(sink.port)) for _ in range(3)]

    assert [r.messages for r in reports] == [25, 0, 0]
    assert sorted(Counter(sink.message_ids).values()) == [1] * 25
    send.refresh_from_db()
    assert send.status == SendStatus.COMPLETED
