"""Test sends: up to five addresses, marked as a test, never counted in tracking."""

from __future__ import annotations

import pytest

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.errors import SendInvalidError
from tandem.engagement.sends.models import RecordStatus, Send, SendStatus
from tandem.engagement.sends.services import (
    parse_addresses,
    send_create,
    send_test,
    send_test_of_send,
    tracking_open,
)
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink


@pytest.fixture(autouse=True)
def _smtp_at_sink(settings: object, sink: Sink) -> None:
    settings.EMAIL_PORT = sink.port  # type: ignore[attr-defined]


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


def test_parse_addresses_accepts_five_separated_by_commas_or_lines() -> None:
    text = "a@example.test, b@example.test\nc@example.test;d@example.test e@example.test"

    assert len(parse_addresses(text)) == 5


def test_parse_addresses_refuses_six() -> None:
    with pytest.raises(SendInvalidError, match="at most 5"):
        parse_addresses(",".join(f"u{i}@example.test" for i in range(6)))


def test_parse_addresses_refuses_an_invalid_one() -> None:
    with pytest.raises(SendInvalidError, match="Invalid email address 'nope'"):
        parse_addresses("a@example.test, nope")


def test_test_send_delivers_to_each_address_marked_as_test(
    marketer: User, email: Email, sink: Sink
) -> None:
    send = send_test(actor=marketer, email=email, addresses=["a@example.test", "b@example.test"])

    assert send.is_test
    assert sorted(m["To"] for m in sink.messages) == ["a@example.test", "b@example.test"]
    assert all(m["X-Tandem-Test-Send"] == "yes" for m in sink.messages)
    assert set(send.records.values_list("status", flat=True)) == {RecordStatus.SENT}


def test_test_send_has_no_tracking_pixel_and_opens_are_not_counted(
    marketer: User, email: Email, sink: Sink
) -> None:
    send = send_test(actor=marketer, email=email, addresses=["a@example.test"])
    record = send.records.get()

    tracking_open(record_id=record.id, user_agent="test")

    html = sink.messages[0].get_body(("html",))
    assert html is not None
    assert "/o.gif" not in html.get_content()
    record.refresh_from_db()
    assert record.open_count == 0
    assert Send.objects.filter(is_test=False).count() == 0


def test_a_test_send_carries_no_list_unsubscribe_headers(
    marketer: User, email: Email, sink: Sink
) -> None:
    send_test(actor=marketer, email=email, addresses=["a@example.test"])

    message = sink.messages[0]
    assert message["List-Unsubscribe"] is None
    assert message["List-Unsubscribe-Post"] is None
    assert message["Message-ID"]


def test_a_test_of_a_send_is_personalized_as_its_first_row_by_default(
    marketer: User, draft: Send, sink: Sink
) -> None:
    test = send_test_of_send(actor=marketer, send=draft, addresses=["qa@example.test"])

    message = sink.messages[0]
    assert message["To"] == "qa@example.test"
    assert message["Subject"] == "Welcome, Name0"
    html = message.get_body(("html",))
    assert html is not None
    assert "https://northwind.test/offer?k=S00000" in html.get_content()
    assert (test.is_test, test.data_extension_id) == (True, draft.data_extension_id)


def test_a_test_of_a_send_is_personalized_as_the_chosen_row(
    marketer: User, draft: Send, sink: Sink
) -> None:
    send_test_of_send(actor=marketer, send=draft, addresses=["qa@example.test"], row_key="S00007")

    assert sink.messages[0]["Subject"] == "Welcome, Name7"


def test_a_test_of_a_send_with_an_unknown_row_sends_nothing(
    marketer: User, draft: Send, sink: Sink
) -> None:
    with pytest.raises(SendInvalidError, match="no row with the key 'nope'"):
        send_test_of_send(actor=marketer, send=draft, addresses=["qa@example.test"], row_key="nope")

    assert sink.messages == []
    assert Send.objects.filter(is_test=True).count() == 0


def test_a_test_of_six_addresses_sends_nothing(marketer: User, draft: Send, sink: Sink) -> None:
    addresses = [f"u{i}@example.test" for i in range(6)]

    with pytest.raises(SendInvalidError, match="at most 5"):
        send_test_of_send(actor=marketer, send=draft, addresses=addresses)

    assert sink.messages == []
    assert Send.objects.filter(is_test=True).count() == 0


def test_a_test_of_a_send_leaves_the_send_and_its_tracking_alone(
    marketer: User, draft: Send, sink: Sink
) -> None:
    test = send_test_of_send(actor=marketer, send=draft, addresses=["qa@example.test"])
    tracking_open(record_id=test.records.get().id, user_agent="test")

    draft.refresh_from_db()
    assert draft.status == SendStatus.DRAFT
    assert not draft.records.exists()
    assert test.records.get().open_count == 0
    assert test.events.get(action="send.test_sent").new_value["of_send"] == draft.id
