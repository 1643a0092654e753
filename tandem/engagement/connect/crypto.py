"""Secrets Connect must read back (legacy CRM passwords, PKCE verifiers), Fernet-encrypted."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadableError(Exception):
    """A stored secret no configured key can decrypt (keys rotated away)."""


def _keys() -> MultiFernet:
    configured = [Fernet(key.encode("ascii")) for key in settings.CONNECT_FERNET_KEYS]
    # Without configured keys: one derived from SECRET_KEY, so a local install just works.
    digest = hashlib.sha256(f"connect-secrets:{settings.SECRET_KEY}".encode()).digest()
    derived = Fernet(base64.urlsafe_b64encode(digest))
    return MultiFernet([*configured, derived])


def secret_encrypt(value: str) -> str:
    """Encrypt with the first key; the token is ASCII."""
    return _keys().encrypt(value.encode("utf-8")).decode("ascii")


def secret_decrypt(token: str) -> str:
    """Decrypt with any configured key."""
    try:
        return _keys().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError) as exc:
        raise SecretUnreadableError("a stored Connect secret cannot be decrypted") from exc
