"""Test sends: up to five addresses, marked as a test, never counted in tracking."""

from __future__ import annotations

import pytest

from tandem.engagement.accounts.models import User
from tandem.engagement.sends.errors import SendInvalidError
from tandem.engagement.sends.models import RecordStatus, Send
from tandem.engagement.sends.services import parse_addresses, send_test, tracking_open
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import Sink


@pytest.fixture(autouse=True)
def _smtp_at_sink(settings: object, sink: Sink) -> None:
    settings.EMAIL_PORT = sink.port  # type: ignore[attr-defined]


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
