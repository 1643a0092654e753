"""Throttle password logins per source address, whichever usernames are tried.

Counts live in the shared cache (tandem.core.throttle), so every web process of the CRM counts
the same failures.
"""

from __future__ import annotations

from django.conf import settings

from tandem.core.throttle import throttle_exceeded, throttle_note

NAME = "crm-login-ip"


def login_throttled(ip: str) -> bool:
    """True when `ip` has used up its failed attempts for the current window."""
    return throttle_exceeded(NAME, ip, limit=settings.CRM_LOGIN_THROTTLE_ATTEMPTS)


def login_failure_note(ip: str) -> None:
    """Count one failed attempt from `ip`; the window starts at the first failure."""
    throttle_note(NAME, ip, window_seconds=settings.CRM_LOCKOUT_MINUTES * 60)
