"""Failure counters in the shared cache (the database's, or Redis with TANDEM_CACHE_URL).

Every web process and worker sees the same counts, so N processes do not allow N times the
limit. A window starts at the first failure and lasts `window_seconds`. The subject (an address
or a username) is hashed into the key: no raw username is stored in the cache.
"""

from __future__ import annotations

import hashlib

from django.core.cache import cache


def _key(name: str, subject: str) -> str:
    digest = hashlib.sha256(subject.encode("utf-8")).hexdigest()[:40]
    return f"throttle:{name}:{digest}"


def throttle_exceeded(name: str, subject: str, *, limit: int) -> bool:
    """True when `subject` has used up its `limit` failures in the current window."""
    return int(cache.get(_key(name, subject), 0)) >= limit


def throttle_note(name: str, subject: str, *, window_seconds: int) -> int:
    """Count one failure of `subject`; returns the count so far in the window."""
    key = _key(name, subject)
    cache.add(key, 0, timeout=window_seconds)
    try:
        return int(cache.incr(key))
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        return 1


def throttle_clear(name: str, subject: str) -> None:
    """Forget `subject`'s failures (e.g. after a successful login)."""
    cache.delete(_key(name, subject))
