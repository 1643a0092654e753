"""Consumer secrets at rest: a fast keyed hash to verify, Fernet to read back for signing.

DOT's default PBKDF2 hasher costs ~0.3 s a check, which caps the token endpoint at a few tokens
a second; an HMAC-SHA256 keyed by a server secret is as safe for 256-bit random secrets (no
dictionary to attack) and costs microseconds. The token response's `signature` is keyed by the
plain secret, so the secret is also kept encrypted (MultiFernet). Each has its own key ring
(tandem.core.keys), so both rotate with `tandem keys rotate`. ADR 0404, docs/security.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Any

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


def opaque_token() -> str:
    """256 random bits as 43 characters of [A-Za-z0-9_.]: base64url with '.' for '-' (the same
    entropy; the sf CLI reads a session id's opaque part as word characters and dots only).
    oauthlib's default draws 30 characters one `random.choice` at a time, a measurable share
    of a JWT grant."""
    return secrets.token_urlsafe(32).replace("-", ".")


def session_id(org_id: str | None) -> str:
    """A token in Salesforce's session-id shape, `<15-character org id>!<opaque>`, or only the
    opaque part when no org is known."""
    return f"{org_id[:15]}!{opaque_token()}" if org_id else opaque_token()


def new_access_token(request: Any = None) -> str:
    """An access token (DOT's ACCESS_TOKEN_GENERATOR): a session id of the token's user's org,
    else of the app's org (client credentials)."""
    user = getattr(request, "user", None)
    client = getattr(request, "client", None)
    return session_id(getattr(user, "org_id", None) or getattr(client, "org_id", None))


def new_token(request: object = None) -> str:
    """A refresh token (DOT's REFRESH_TOKEN_GENERATOR): its characters fit an sfdx auth URL
    (`force://id:secret:refresh@host`, [A-Za-z0-9._-])."""
    return opaque_token()


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
