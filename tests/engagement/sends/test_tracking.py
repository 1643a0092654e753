"""Opens, clicks and one-click unsubscribes, recorded per send record through opaque tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.models import SendRecord, Suppression, TrackingEvent
from tandem.engagement.sends.tracking import record_id_from_token, record_token
from tandem.engagement.studio.models import Email
from tests.engagement.sends.helpers import running_send


@pytest.fixture
def record(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> SendRecord:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    return send.records.get(subscriber_key="S00002")


def test_token_round_trips_and_refuses_forgeries() -> None:
    token = record_token(12345)

    assert record_id_from_token(token) == 12345
    assert record_id_from_token(token[:-2] + ("AA" if token[-2:] != "AA" else "BB")) is None
    assert record_id_from_token("not-a-token") is None


def test_open_pixel_counts_an_open(record: SendRecord) -> None:
    response = Client().get(f"/t/{record_token(record.id)}/o.gif")

    assert response.status_code == 200
    assert response["Content-Type"] == "image/gif"
    record.refresh_from_db()
    assert record.open_count == 1
    assert record.first_opened_at is not None


def test_click_redirects_to_the_personalized_link_and_counts_it(record: SendRecord) -> None:
    response = Client().get(f"/t/{record_token(record.id)}/c/0")

    assert response.status_code == 302
    assert response["Location"] == "https://northwind.test/offer?k=S00002"
    record.refresh_from_db()
    assert record.click_count == 1
    assert TrackingEvent.objects.get(record=record).url == "https://northwind.test/offer?k=S00002"


def test_click_on_an_unknown_link_is_404_and_counts_nothing(record: SendRecord) -> None:
    response = Client().get(f"/t/{record_token(record.id)}/c/7")

    assert response.status_code == 404
    assert not TrackingEvent.objects.exists()


def test_forged_token_is_404(record: SendRecord) -> None:
    response = Client().get("/t/AAAAAAAAAAAAAAAAAAAAAAAA/c/0")

    assert response.status_code == 404


def test_one_click_unsubscribe_post_needs_no_cookie_or_csrf(record: SendRecord) -> None:
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        f"/t/{record_token(record.id)}/u",
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    record.refresh_from_db()
    assert record.unsubscribed_at is not None
    assert Suppression.objects.filter(subscriber_key="S00002").exists()


def test_unsubscribe_get_only_asks_for_confirmation(record: SendRecord) -> None:
    response = Client().get(f"/t/{record_token(record.id)}/u")

    assert response.status_code == 200
    assert b"Unsubscribe" in response.content
    record.refresh_from_db()
    assert record.unsubscribed_at is None


def test_unsubscribing_twice_records_one_event(record: SendRecord) -> None:
    url = f"/t/{record_token(record.id)}/u"

    Client().post(url)
    Client().post(url)

    assert TrackingEvent.objects.filter(record=record).count() == 1


def test_an_unsubscribe_link_mailed_before_a_key_rotation_still_works(
    record: SendRecord, key_rings: Path
) -> None:
    from tandem.core.keys_rotation import keys_add
    from tandem.engagement.sends.tracking import TRACKING_KEYS

    mailed = record_token(record.id)
    old_key = TRACKING_KEYS.digest(b"x")
    keys_add("engagement", key_rings)

    assert TRACKING_KEYS.digest(b"x") != old_key  # new links use the new key
    assert record_token(record.id) != mailed
    response = Client().post(f"/t/{mailed}/u")
    assert response.status_code == 200
    record.refresh_from_db()
    assert record.unsubscribed_at is not None


def test_a_link_mailed_before_key_rings_still_works(
    record: SendRecord, key_rings: Path, settings: Any
) -> None:
    import base64
    import hashlib
    import hmac

    key = hashlib.sha256(b"tandem.engagement.sends.tracking:" + settings.SECRET_KEY.encode())
    raw = record.id.to_bytes(6, "big")
    mac = hmac.new(key.digest(), raw, hashlib.sha256).digest()[:12]
    mailed = base64.urlsafe_b64encode(raw + mac).decode()

    assert record_id_from_token(mailed) == record.id
    settings.LEGACY_KEYS = False
    from tandem.engagement.sends.tracking import TRACKING_KEYS

    TRACKING_KEYS.refresh()
    assert record_id_from_token(mailed) is None
