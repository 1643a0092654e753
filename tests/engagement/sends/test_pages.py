"""Interactions and Tracking pages: who may see what, forms, and errors next to fields."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.sends.services import send_create
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink


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


PAGES = [
    "/email/interactions/",
    "/email/tracking/",
    "/email/interactions/new/",
    "/email/interactions/test/",
]


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_visitors_are_sent_to_login(db: None, path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_list_shows_the_accounts_sends(marketer_client: Client, draft: Send) -> None:
    response = marketer_client.get("/email/interactions/")

    assert response.status_code == 200
    assert b"Spring" in response.content


def test_another_accounts_user_sees_neither_the_list_entry_nor_the_send(
    outsider_client: Client, draft: Send
) -> None:
    listing = outsider_client.get("/email/interactions/")
    detail = outsider_client.get(f"/email/interactions/{draft.id}/")
    progress = outsider_client.get(f"/email/interactions/{draft.id}/progress/")

    assert b"Spring" not in listing.content
    assert detail.status_code == 404
    assert progress.status_code == 404


def test_another_accounts_user_cannot_cancel_the_send(outsider_client: Client, draft: Send) -> None:
    response = outsider_client.post(f"/email/interactions/{draft.id}/cancel/")

    assert response.status_code == 404
    draft.refresh_from_db()
    assert draft.status == SendStatus.DRAFT


def test_new_send_form_creates_a_draft(
    marketer_client: Client, email: Email, audience: DataExtension
) -> None:
    response = marketer_client.post(
        "/email/interactions/new/",
        {"name": "Autumn", "email": email.id, "data_extension": audience.id},
    )

    send = Send.objects.get(name="Autumn")
    assert response.status_code == 302
    assert response["Location"] == f"/email/interactions/{send.id}/"
    assert send.status == SendStatus.DRAFT


def test_new_send_form_shows_a_bad_personalization_string_next_to_the_email(
    marketer_client: Client, email: Email, audience: DataExtension
) -> None:
    Email.objects.filter(pk=email.pk).update(subject="Hi %%Nickname%%")

    response = marketer_client.post(
        "/email/interactions/new/",
        {"name": "Autumn", "email": email.id, "data_extension": audience.id},
    )

    assert response.status_code == 200
    assert "%%Nickname%% in the email is not a column" in response.content.decode()
    assert not Send.objects.exists()


def test_send_now_schedules_and_enqueues_the_start(
    marketer_client: Client, draft: Send, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = marketer_client.post(f"/email/interactions/{draft.id}/schedule/", {})

    assert response.status_code == 302
    draft.refresh_from_db()
    assert draft.status == SendStatus.SCHEDULED
    assert len(callbacks) == 1


def test_schedule_in_the_past_shows_the_error_and_changes_nothing(
    marketer_client: Client, draft: Send
) -> None:
    response = marketer_client.post(
        f"/email/interactions/{draft.id}/schedule/", {"scheduled_at": "2001-01-01T10:00"}
    )

    assert response.status_code == 400
    assert b"Choose a time in the future" in response.content
    draft.refresh_from_db()
    assert draft.status == SendStatus.DRAFT


def test_progress_answers_counts_as_json(marketer_client: Client, draft: Send) -> None:
    response = marketer_client.get(f"/email/interactions/{draft.id}/progress/")

    assert response.json()["status"] == "draft"
    assert response.json()["remaining"] == 0


def test_test_send_form_refuses_six_addresses_next_to_the_field(
    marketer_client: Client, email: Email
) -> None:
    addresses = ",".join(f"u{i}@example.test" for i in range(6))

    response = marketer_client.post(
        "/email/interactions/test/", {"email": email.id, "addresses": addresses}
    )

    assert response.status_code == 200
    assert b"A test send goes to at most 5 addresses." in response.content
    assert not Send.objects.exists()


def test_tracking_page_lists_started_sends_only(marketer_client: Client, draft: Send) -> None:
    response = marketer_client.get("/email/tracking/")

    assert response.status_code == 200
    assert b"Spring" not in response.content


def test_the_detail_page_offers_a_test_send_with_the_first_row_chosen(
    marketer_client: Client, draft: Send
) -> None:
    response = marketer_client.get(f"/email/interactions/{draft.id}/")

    html = response.content.decode()
    assert f'action="/email/interactions/{draft.id}/test/"' in html
    assert '<option value="S00000" selected>S00000 &lt;user0@example.test&gt;</option>' in html
    assert '<option value="S00024">' in html


def test_a_test_send_from_the_page_goes_out_personalized_as_the_chosen_row(
    settings: Any, marketer_client: Client, draft: Send, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port

    response = marketer_client.post(
        f"/email/interactions/{draft.id}/test/",
        {"addresses": "qa@example.test, boss@example.test", "row": "S00002"},
    )

    assert response.status_code == 302
    assert sorted(m["To"] for m in sink.messages) == ["boss@example.test", "qa@example.test"]
    assert {m["Subject"] for m in sink.messages} == {"Welcome, Name2"}
    assert Send.objects.get(is_test=True).created_by is not None


def test_a_test_send_to_six_addresses_shows_the_error_and_sends_nothing(
    settings: Any, marketer_client: Client, draft: Send, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port
    addresses = ", ".join(f"u{i}@example.test" for i in range(6))

    response = marketer_client.post(
        f"/email/interactions/{draft.id}/test/", {"addresses": addresses, "row": "S00000"}
    )

    assert response.status_code == 400
    assert b"A test send goes to at most 5 addresses." in response.content
    assert sink.messages == []
    assert not Send.objects.filter(is_test=True).exists()


def test_another_accounts_user_cannot_test_the_send(
    settings: Any, outsider_client: Client, draft: Send, sink: Sink
) -> None:
    settings.EMAIL_PORT = sink.port

    response = outsider_client.post(
        f"/email/interactions/{draft.id}/test/", {"addresses": "x@example.test", "row": "S00000"}
    )

    assert response.status_code == 404
    assert sink.messages == []


def test_an_anonymous_visitor_cannot_test_the_send(draft: Send) -> None:
    response = Client().post(
        f"/email/interactions/{draft.id}/test/", {"addresses": "x@example.test"}
    )

    assert response.status_code == 302
    assert "login" in response["Location"]
    assert not Send.objects.filter(is_test=True).exists()
