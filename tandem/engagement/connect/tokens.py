"""Short-lived CRM access tokens, cached per process until shortly before they expire."""

from __future__ import annotations

import threading
import time

from django.conf import settings

from tandem.engagement.connect.client import CrmToken

# The CRM's token response carries no expiry (as Salesforce's): assume its default session
# length, less a margin, and drop a token early when the CRM refuses it.
MARGIN_SECONDS = 300
_lock = threading.Lock()
_cache: dict[tuple[int, str], CrmToken] = {}


def _lifetime() -> int:
    configured = int(str(settings.OAUTH2_PROVIDER.get("ACCESS_TOKEN_EXPIRE_SECONDS", 7200)))
    return max(60, configured - MARGIN_SECONDS)


def token_cached(account_id: int, username: str) -> CrmToken | None:
    """A cached token still inside its lifetime."""
    with _lock:
        token = _cache.get((account_id, username.lower()))
    if token is None or time.time() - token.issued_at > _lifetime():
        return None
    return token


def token_store(account_id: int, username: str, token: CrmToken) -> None:
    with _lock:
        _cache[(account_id, username.lower())] = token


def tokens_forget(account_id: int) -> None:
    """Forget every token of the account (its authentication mode changed)."""
    with _lock:
        for key in [key for key in _cache if key[0] == account_id]:
            del _cache[key]
