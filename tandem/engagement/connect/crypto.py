"""Secrets Connect must read back (legacy CRM passwords, PKCE verifiers), Fernet-encrypted.

The Engagement's own `connect_secrets` key ring (tandem.core.keys): the newest key encrypts,
any decrypts; `tandem keys rotate` re-encrypts every stored secret. docs/security.md.
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import InvalidToken
from django.conf import settings

from tandem.core.keys import FernetRing, key_bytes, service_loader
from tandem.core.keys_rotation import EncryptedColumn


class SecretUnreadableError(Exception):
    """A stored secret no configured key can decrypt (keys rotated away)."""


def _legacy_keys() -> list[bytes]:
    """The pre-ring keys: TANDEM_CONNECT_FERNET_KEYS, then the one derived from SECRET_KEY."""
    if not settings.LEGACY_KEYS:
        return []
    keys = [key_bytes(key, "TANDEM_CONNECT_FERNET_KEYS") for key in settings.CONNECT_FERNET_KEYS]
    keys.append(hashlib.sha256(f"connect-secrets:{settings.SECRET_KEY}".encode()).digest())
    return keys


CONNECT_SECRETS = FernetRing(service_loader("engagement", "connect_secrets"), _legacy_keys)


def encrypted_columns() -> list[EncryptedColumn]:
    """What `tandem keys rotate` re-encrypts in the Engagement: every Connect secret at rest."""
    from tandem.engagement.connect.models import ConnectedUser, CrmConnection

    return [
        EncryptedColumn("connect legacy secrets", CrmConnection, "legacy_secret", CONNECT_SECRETS),
        EncryptedColumn(
            "connect pending verifiers", CrmConnection, "pending_verifier", CONNECT_SECRETS
        ),
        EncryptedColumn(
            "connect user legacy secrets", ConnectedUser, "legacy_secret", CONNECT_SECRETS
        ),
    ]


def secret_encrypt(value: str) -> str:
    """Encrypt with the newest key; the token is ASCII."""
    return CONNECT_SECRETS.encrypt(value)


def secret_decrypt(token: str) -> str:
    """Decrypt with any key of the ring."""
    try:
        return CONNECT_SECRETS.decrypt(token)
    except InvalidToken as exc:
        raise SecretUnreadableError("a stored Connect secret cannot be decrypted") from exc
