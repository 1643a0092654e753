"""Opaque tracking tokens: a send record id and a keyed MAC, URL-safe, nothing stored."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from django.conf import settings

from tandem.core.keys import HmacRing, service_loader

_ID_BYTES = 6
_MAC_BYTES = 12


def _legacy_keys() -> list[bytes]:
    """Before key rings, links were keyed by a hash of SECRET_KEY: links already mailed."""
    if not settings.LEGACY_KEYS:
        return []
    return [
        hashlib.sha256(b"tandem.engagement.sends.tracking:" + settings.SECRET_KEY.encode()).digest()
    ]


# The Engagement's `tracking` key ring: new links use the newest key; a link mailed before a
# rotation still opens, clicks and unsubscribes (tandem.core.keys, docs/security.md).
TRACKING_KEYS = HmacRing(service_loader("engagement", "tracking"), _legacy_keys)


def record_token(record_id: int) -> str:
    """The token that names one send record in tracking and unsubscribe URLs."""
    raw = record_id.to_bytes(_ID_BYTES, "big")
    mac = TRACKING_KEYS.digest(raw)[:_MAC_BYTES]
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
    # One HMAC per key tried, newest first: a link mailed before a rotation still works.
    for digest in TRACKING_KEYS.digests(raw):
        if hmac.compare_digest(mac, digest[:_MAC_BYTES]):
            return int.from_bytes(raw, "big")
    return None
