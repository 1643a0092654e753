"""Consumer secrets at rest: a fast keyed hash to verify, Fernet to read back for signing.

DOT's default PBKDF2 hasher costs ~0.3 s a check, which caps the token endpoint at a few tokens
a second; an HMAC-SHA256 keyed by a server secret is as safe for 256-bit random secrets (no
dictionary to attack) and costs microseconds. The token response's `signature` is keyed by the
plain secret, so the secret is also kept encrypted (MultiFernet). Each has its own key ring
(tandem.core.keys), so both rotate with `tandem keys rotate`. ADR 0400, docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import InvalidToken
from django.conf import settings

from tandem.core.keys import FernetRing, HmacRing, key_bytes, service_loader

HASH_PREFIX = "hmac-sha256$"


def _legacy_base() -> bytes:
    return (getattr(settings, "OAUTH_SECRET_KEY", "") or settings.SECRET_KEY).encode()


def _legacy_hash_keys() -> list[bytes]:
    """The pre-ring hash key, derived from the OAuth key (or SECRET_KEY)."""
    if not settings.LEGACY_KEYS:
        return []
    return [
        hmac.new(_legacy_base(), b"tandem.crm.oauth.client-secret-hash", hashlib.sha256).digest()
    ]


def _legacy_fernet_keys() -> list[bytes]:
    """The pre-ring Fernet keys: TANDEM_OAUTH_FERNET_KEYS, then the derived one."""
    if not settings.LEGACY_KEYS:
        return []
    configured = [key for key in getattr(settings, "OAUTH_FERNET_KEYS", []) if key]
    keys = [key_bytes(key, "TANDEM_OAUTH_FERNET_KEYS") for key in configured]
    keys.append(hmac.new(_legacy_base(), b"tandem.crm.oauth.fernet", hashlib.sha256).digest())
    return keys


# Separate keys for checking secrets and for reading them back (docs/security.md).
SECRET_HASHES = HmacRing(service_loader("crm", "client_secret_hash"), _legacy_hash_keys)
SECRET_ENCRYPTION = FernetRing(service_loader("crm", "client_secret"), _legacy_fernet_keys)


def new_consumer_secret() -> str:
    """A fresh secret: 64 hex characters (Salesforce secrets are alphanumeric)."""
    return secrets.token_hex(32)


def new_token(request: object = None) -> str:
    """An access or refresh token: 256 random bits, URL-safe (oauthlib's default draws 30
    characters one `random.choice` at a time, a measurable share of a JWT grant)."""
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The keyed hash stored in the client_secret column: `hmac-sha256$<key id>$<hex>`."""
    return SECRET_HASHES.hash(secret)


def secret_matches(provided: str, stored: str) -> bool:
    """Constant-time check of a provided secret against the stored keyed hash: one HMAC, with
    the key the hash names (a pre-ring `hmac-sha256$<hex>` with the legacy key)."""
    return SECRET_HASHES.matches(provided, stored, legacy_prefix=HASH_PREFIX)


def encrypt_secret(secret: str) -> str:
    """The secret encrypted with the newest client-secret key."""
    return SECRET_ENCRYPTION.encrypt(secret)


def decrypt_secret(token: str) -> str | None:
    """The plain secret, or None when it cannot be decrypted with any key of the ring."""
    try:
        return SECRET_ENCRYPTION.decrypt(token)
    except InvalidToken:
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
