"""Connect's secrets at rest: the `connect_secrets` key ring, rotation, pre-ring secrets."""

from __future__ import annotations

import base64
import hashlib
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from tandem.core.keys_rotation import keys_add
from tandem.engagement.connect.crypto import (
    CONNECT_SECRETS,
    SecretUnreadableError,
    secret_decrypt,
    secret_encrypt,
)
from tandem.engagement.connect.models import ConnectedUser, CrmConnection


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("keys_rotate", *args, stdout=out)
    return out.getvalue()


def test_round_trip_does_not_store_the_plain_text(key_rings: Path) -> None:
    token = secret_encrypt("hunter2TOKEN")

    assert "hunter2" not in base64.urlsafe_b64decode(token).decode("latin-1")
    assert secret_decrypt(token) == "hunter2TOKEN"


def test_rotation_re_encrypts_every_stored_secret_which_still_reads(
    key_rings: Path, legacy: CrmConnection
) -> None:
    before = {row.pk: row.legacy_secret for row in ConnectedUser.objects.all()}
    system_before = legacy.legacy_secret

    output = rotate()

    legacy.refresh_from_db()
    assert legacy.legacy_secret != system_before
    assert CONNECT_SECRETS.is_current(legacy.legacy_secret)
    assert secret_decrypt(legacy.legacy_secret) == "pwTOKEN"
    for row in ConnectedUser.objects.all():
        assert row.legacy_secret != before[row.pk]
        assert CONNECT_SECRETS.is_current(row.legacy_secret)
        assert secret_decrypt(row.legacy_secret) == "pwTOKEN"
    assert "connect legacy secrets: 1 re-encrypted of 1" in output
    assert "connect user legacy secrets: 2 re-encrypted of 2" in output
    # Finished: a resumed run finds nothing left to do.
    assert "connect user legacy secrets: 0 re-encrypted of 2" in rotate("--resume")


def test_a_secret_encrypted_before_rotation_reads_until_it_is_re_encrypted(
    key_rings: Path, legacy: CrmConnection
) -> None:
    keys_add("engagement", key_rings)  # a rotation stopped before re-encrypting

    legacy.refresh_from_db()
    assert not CONNECT_SECRETS.is_current(legacy.legacy_secret)
    assert secret_decrypt(legacy.legacy_secret) == "pwTOKEN"
    assert "connect legacy secrets: 1 re-encrypted of 1" in rotate("--resume")


def test_a_secret_from_before_key_rings_still_reads_and_rotation_moves_it(
    key_rings: Path, legacy: CrmConnection, settings: object
) -> None:
    secret_key = settings.SECRET_KEY  # type: ignore[attr-defined]
    derived = hashlib.sha256(f"connect-secrets:{secret_key}".encode()).digest()
    old = Fernet(base64.urlsafe_b64encode(derived)).encrypt(b"oldpwTOKEN").decode()
    CrmConnection.objects.filter(pk=legacy.pk).update(legacy_secret=old)

    assert secret_decrypt(old) == "oldpwTOKEN"
    rotate("--resume")
    legacy.refresh_from_db()
    assert CONNECT_SECRETS.is_current(legacy.legacy_secret)
    assert secret_decrypt(legacy.legacy_secret) == "oldpwTOKEN"


def test_a_secret_no_key_reads_is_a_clear_error_and_rotation_leaves_it(
    key_rings: Path, legacy: CrmConnection
) -> None:
    foreign = Fernet(Fernet.generate_key()).encrypt(b"pw").decode()
    CrmConnection.objects.filter(pk=legacy.pk).update(legacy_secret=foreign)

    with pytest.raises(SecretUnreadableError):
        secret_decrypt(foreign)
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="1 stored value"):
        rotate("--resume")
    legacy.refresh_from_db()
    assert legacy.legacy_secret == foreign
