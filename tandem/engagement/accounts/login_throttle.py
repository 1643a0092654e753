"""Throttle Engagement logins: failures per source address and per username, in the shared
cache (tandem.core.throttle), so every web process counts the same failures."""

from __future__ import annotations

from django.conf import settings

from tandem.core.throttle import throttle_clear, throttle_exceeded, throttle_note

BY_ADDRESS = "engagement-login-ip"
BY_USERNAME = "engagement-login-user"
REFUSED = "Too many failed logins. Wait {minutes} minutes, then try again."


def login_refusal(*, ip: str, username: str) -> str | None:
    """Why a login from `ip` as `username` is refused before any password check, or None."""
    minutes = settings.ENGAGEMENT_LOGIN_THROTTLE_MINUTES
    by_ip = throttle_exceeded(BY_ADDRESS, ip, limit=settings.ENGAGEMENT_LOGIN_THROTTLE_ATTEMPTS)
    by_user = throttle_exceeded(
        BY_USERNAME,
        username.strip().lower(),
        limit=settings.ENGAGEMENT_LOGIN_USER_THROTTLE_ATTEMPTS,
    )
    return REFUSED.format(minutes=minutes) if by_ip or by_user else None


def login_failure_note(*, ip: str, username: str) -> None:
    """Count one failed login against the address and the username."""
    window = settings.ENGAGEMENT_LOGIN_THROTTLE_MINUTES * 60
    throttle_note(BY_ADDRESS, ip, window_seconds=window)
    throttle_note(BY_USERNAME, username.strip().lower(), window_seconds=window)


def login_success_note(*, username: str) -> None:
    """A correct password clears the username's failures (not the address's)."""
    throttle_clear(BY_USERNAME, username.strip().lower())
