"""The Engagement login is throttled per address and per username, in the shared cache."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client

from tandem.engagement.accounts.models import User
from tests.engagement.conftest import PASSWORD

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
REFUSED = b"Too many failed logins. Wait 15 minutes, then try again."


def post(username: str, password: str, ip: str = "203.0.113.7", **headers: str) -> int:
    response = Client().post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **headers
    )
    return response.status_code if REFUSED not in response.content else 429


def test_failures_from_one_address_refuse_even_the_right_password(
    admin: User, settings: object
) -> None:
    settings.ENGAGEMENT_LOGIN_THROTTLE_ATTEMPTS = 3  # type: ignore[attr-defined]
    for name in ("x", "y", "z"):
        assert post(name, "guess") == 200

    response = Client().post(
        "/login/", {"username": "ada", "password": PASSWORD}, REMOTE_ADDR="203.0.113.7"
    )

    assert response.status_code == 429
    assert REFUSED in response.content
    assert settings.SESSION_COOKIE_NAME not in response.cookies  # type: ignore[attr-defined]
    assert post("ada", PASSWORD, ip="198.51.100.1") == 302  # another address is not refused


def test_failures_for_one_username_refuse_it_from_any_address(
    admin: User, settings: object
) -> None:
    settings.ENGAGEMENT_LOGIN_USER_THROTTLE_ATTEMPTS = 2  # type: ignore[attr-defined]
    assert post("ada", "guess", ip="198.51.100.1") == 200
    assert post("ADA", "guess", ip="198.51.100.2") == 200

    assert post("ada", PASSWORD, ip="198.51.100.3") == 429
    assert post("mia", "guess", ip="198.51.100.3") == 200  # other usernames go on


def test_a_correct_password_clears_the_usernames_failures(admin: User, settings: object) -> None:
    settings.ENGAGEMENT_LOGIN_USER_THROTTLE_ATTEMPTS = 2  # type: ignore[attr-defined]
    assert post("ada", "guess", ip="198.51.100.1") == 200
    assert post("ada", PASSWORD, ip="198.51.100.1") == 302

    assert post("ada", "guess", ip="198.51.100.2") == 200
    assert post("ada", PASSWORD, ip="198.51.100.2") == 302


def test_the_refusal_ends_with_its_window(admin: User, settings: object) -> None:
    settings.ENGAGEMENT_LOGIN_THROTTLE_ATTEMPTS = 1  # type: ignore[attr-defined]
    with time_machine.travel(NOON, tick=False):
        assert post("x", "guess") == 200
        assert post("ada", PASSWORD) == 429
    with time_machine.travel(NOON + timedelta(minutes=16), tick=False):
        assert post("ada", PASSWORD) == 302


def test_behind_a_trusted_proxy_each_forwarded_client_counts_apart(
    admin: User, settings: object
) -> None:
    settings.ENGAGEMENT_LOGIN_THROTTLE_ATTEMPTS = 1  # type: ignore[attr-defined]
    settings.TRUSTED_PROXIES = ["10.0.0.1"]  # type: ignore[attr-defined]
    assert post("x", "guess", ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50") == 200

    assert post("ada", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.50") == 429
    assert post("ada", PASSWORD, ip="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.51") == 302
    # From an untrusted sender the header is ignored: the sender's address is what counts.
    assert post("y", "guess", ip="192.0.2.9", HTTP_X_FORWARDED_FOR="203.0.113.52") == 200
    assert post("ada", PASSWORD, ip="192.0.2.9", HTTP_X_FORWARDED_FOR="203.0.113.53") == 429


def test_counts_are_kept_in_the_databases_cache_table(admin: User, settings: object) -> None:
    assert settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")  # type: ignore[attr-defined]
    post("x", "guess")

    with connection.cursor() as cursor:
        cursor.execute("SELECT cache_key FROM tandem_cache")
        keys = [row[0] for row in cursor.fetchall()]
    assert any(":throttle:engagement-login-ip:" in key for key in keys)
    assert not any("203.0.113.7" in key for key in keys)  # the subject is hashed
