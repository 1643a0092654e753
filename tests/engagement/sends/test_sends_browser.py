"""Interactions in a real browser: create a send, start it, watch its progress update live."""

from __future__ import annotations

import pytest

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends import queue
from tandem.engagement.sends.models import RecordStatus, Send, SendStatus
from tandem.engagement.sends.services import send_begin
from tandem.engagement.studio.models import Email
from tests.engagement.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_marketer_creates_starts_and_watches_a_send(  # type: ignore[no-untyped-def]
    page, live_server, marketer: User, email: Email, audience: DataExtension, monkeypatch
) -> None:
    monkeypatch.setattr(queue, "enqueue_begin", lambda *args, **kwargs: None)
    monkeypatch.setattr(queue, "enqueue_deliveries", lambda *args, **kwargs: None)
    page.goto(live_server.url + "/email/interactions/")
    page.get_by_label("Username").fill("mia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    page.get_by_role("link", name="New send").click()
    page.get_by_label("Name").fill("Spring")
    page.locator("select[name=email]").select_option(label="Welcome")
    page.get_by_label("Data extension").select_option(label="Subscribers")
    page.get_by_role("button", name="Save").click()
    page.get_by_role("button", name="Send", exact=True).click()
    page.get_by_text("The send is scheduled.").wait_for()
    send = Send.objects.get(name="Spring")
    send_begin(send_id=send.id)

    page.reload()
    assert page.locator('[data-field="status_label"]').inner_text() == "Sending"
    send.records.update(status=RecordStatus.SENT)

    page.locator('[data-field="sent"]', has_text="25").wait_for()
    assert page.locator('[data-field="remaining"]').inner_text() == "0"
    send.refresh_from_db()
    assert send.status == SendStatus.RUNNING
