"""Throttle password logins per source address, whichever usernames are tried.

Counts live in Django's cache: exact with a shared cache, per process with the default
local-memory one (then each web process allows the limit on its own).
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache


def _key(ip: str) -> str:
    return f"crm:login-failures:{ip}"


def login_throttled(ip: str) -> bool:
    """True when `ip` has used up its failed attempts for the current window."""
    return int(cache.get(_key(ip), 0)) >= settings.CRM_LOGIN_THROTTLE_ATTEMPTS


def login_failure_note(ip: str) -> None:
    """Count one failed attempt from `ip`; the window starts at the first failure."""
    cache.add(_key(ip), 0, timeout=settings.CRM_LOCKOUT_MINUTES * 60)
    try:
        cache.incr(_key(ip))
    except ValueError:  # expired between add and incr
        cache.set(_key(ip), 1, timeout=settings.CRM_LOCKOUT_MINUTES * 60)
