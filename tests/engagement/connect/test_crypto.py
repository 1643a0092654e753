"""Legacy secrets at rest: MultiFernet, rotation, unreadable tokens."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from tandem.engagement.connect.crypto import SecretUnreadableError, secret_decrypt, secret_encrypt


def test_round_trip_does_not_store_the_plain_text() -> None:
    token = secret_encrypt("hunter2TOKEN")

    assert "hunter2" not in token
    assert secret_decrypt(token) == "hunter2TOKEN"


def test_a_new_first_key_still_reads_old_secrets(settings: object) -> None:
    old = Fernet.generate_key().decode()
    settings.CONNECT_FERNET_KEYS = [old]  # type: ignore[attr-defined]
    token = secret_encrypt("pw")

    settings.CONNECT_FERNET_KEYS = [Fernet.generate_key().decode(), old]  # type: ignore[attr-defined]

    assert secret_decrypt(token) == "pw"


def test_a_secret_no_key_reads_is_a_clear_error(settings: object) -> None:
    settings.CONNECT_FERNET_KEYS = [Fernet.generate_key().decode()]  # type: ignore[attr-defined]
    token = secret_encrypt("pw")
    settings.CONNECT_FERNET_KEYS = []  # type: ignore[attr-defined]

    with pytest.raises(SecretUnreadableError):
        secret_decrypt(token)
