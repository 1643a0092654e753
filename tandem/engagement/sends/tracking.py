"""Opaque tracking tokens: a send record id and a keyed MAC, URL-safe, nothing stored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings

_ID_BYTES = 6
_MAC_BYTES = 12


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"tandem.engagement.sends.tracking:" + secret.encode()).digest()


def record_token(record_id: int) -> str:
    """The token that names one send record in tracking and unsubscribe URLs."""
    raw = record_id.to_bytes(_ID_BYTES, "big")
    mac = hmac.new(_key(settings.SECRET_KEY), raw, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(raw + mac).decode("ascii")


def record_id_from_token(token: str) -> int | None:
    """The record id in `token`, or None when the token is malformed or forged."""
    try:
        blob = base64.urlsafe_b64decode(token.encode("ascii"))
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(blob) != _ID_BYTES + _MAC_BYTES:
        return None
    raw, mac = blob[:_ID_BYTES], blob[_ID_BYTES:]
    expected = hmac.new(_key(settings.SECRET_KEY), raw, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        return None
    return int.from_bytes(raw, "big")
