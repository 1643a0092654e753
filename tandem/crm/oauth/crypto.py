"""Consumer secrets at rest: a fast keyed hash to verify, Fernet to read back for signing.

DOT's default PBKDF2 hasher costs ~0.3 s a check, which caps the token endpoint at a few tokens
a second; an HMAC-SHA256 keyed by a server secret is as safe for 256-bit random secrets (no
dictionary to attack) and costs microseconds. The token response's `signature` is keyed by the
plain secret, so the secret is also kept encrypted (MultiFernet, rotatable keys). ADR 0400.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

HASH_PREFIX = "hmac-sha256$"


def _derive(label: str) -> bytes:
    """A 32-byte key for `label`, derived from the configured OAuth key (or SECRET_KEY)."""
    base = getattr(settings, "OAUTH_SECRET_KEY", "") or settings.SECRET_KEY
    return hmac.new(base.encode(), label.encode(), hashlib.sha256).digest()


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    return _derive("tandem.crm.oauth.client-secret-hash")


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    configured = [key for key in getattr(settings, "OAUTH_FERNET_KEYS", []) if key]
    keys = [Fernet(key) for key in configured]
    keys.append(Fernet(base64.urlsafe_b64encode(_derive("tandem.crm.oauth.fernet"))))
    return MultiFernet(keys)


def new_consumer_secret() -> str:
    """A fresh secret: 64 hex characters (Salesforce secrets are alphanumeric)."""
    return secrets.token_hex(32)


def new_token(request: object = None) -> str:
    """An access or refresh token: 256 random bits, URL-safe (oauthlib's default draws 30
    characters one `random.choice` at a time, a measurable share of a JWT grant)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The keyed hash stored in the client_secret column."""
    digest = hmac.new(_hash_key(), secret.encode("utf-8"), hashlib.sha256).hexdigest()
    return HASH_PREFIX + digest


def secret_matches(provided: str, stored: str) -> bool:
    """Constant-time comparison of a provided secret against the stored keyed hash."""
    if not provided or not stored.startswith(HASH_PREFIX):
        return False
    return hmac.compare_digest(hash_secret(provided), stored)


def encrypt_secret(secret: str) -> str:
    """The secret encrypted with the current Fernet key."""
    return _fernet().encrypt(secret.encode("utf-8")).decode("ascii")


def decrypt_secret(token: str) -> str | None:
    """The plain secret, or None when it cannot be decrypted with any configured key."""
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError):
        return None


def response_signature(secret: str, identity_url: str, issued_at: str) -> str:
    """Salesforce's `signature`: base64 HMAC-SHA256 of id + issued_at keyed by the secret."""
    mac = hmac.new(secret.encode("utf-8"), (identity_url + issued_at).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


def code_hash(code: str) -> str:
    """What is stored for an authorization code (and looked up by): its SHA-256."""
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def token_checksum(token: str) -> str:
    """What an access or refresh token is looked up by (DOT's RFC 9700 storage): its SHA-256."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
