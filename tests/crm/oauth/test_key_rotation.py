"""`tandem crm keys_rotate`: client secrets and security tokens issued before it keep working."""

from __future__ import annotations

import hashlib
import hmac
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import Client

from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.oauth.crypto import SECRET_ENCRYPTION, SECRET_HASHES, decrypt_secret
from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import trusted_ip_range_add
from tandem.crm.users.models import LoginStatus, User
from tandem.crm.users.services import (
    SECURITY_TOKEN_HASHES,
    security_token_matches,
    security_token_reset,
    user_authenticate_password,
)
from tests.crm.conftest import PASSWORD
from tests.crm.oauth.conftest import App, make_app, token

pytestmark = pytest.mark.django_db


@pytest.fixture
def password_app(org: Org, key_rings: Path) -> App:
    org.allow_username_password_flows = True
    org.save()
    trusted_ip_range_add(actor=None, org=org, start_address="10.0.0.0", end_address="10.0.0.255")
    return make_app(org, ip_relaxation="BYPASS")


def password_grant(client: Client, app: App, user: User, secret: str) -> int:
    status, _ = token(
        client,
        grant_type="password",
        client_id=app.key,
        client_secret=secret,
        username=user.username,
        password=PASSWORD,
    )
    return status


def rotate(*args: str) -> str:
    out = StringIO()
    call_command("keys_rotate", *args, stdout=out)
    return out.getvalue()


def test_a_client_secret_issued_before_rotation_still_gets_tokens(
    crm_client: Client, password_app: App, marketer: User
) -> None:
    before = ConnectedApp.objects.get(pk=password_app.app.pk)
    old_hash_key = SECRET_HASHES.newest_id

    output = rotate()

    after = ConnectedApp.objects.get(pk=password_app.app.pk)
    assert SECRET_HASHES.newest_id != old_hash_key
    # Re-hashed with the newest key and re-encrypted with the newest key, same secret.
    assert after.client_secret.startswith(f"hmac-sha256${SECRET_HASHES.newest_id}$")
    assert after.client_secret != before.client_secret
    assert SECRET_ENCRYPTION.is_current(after.consumer_secret_encrypted)
    assert not SECRET_ENCRYPTION.is_current(before.consumer_secret_encrypted)
    assert decrypt_secret(after.consumer_secret_encrypted) == password_app.secret
    assert "crm consumer secrets: 1 re-encrypted of 1" in output
    assert password_grant(crm_client, password_app, marketer, password_app.secret) == 200
    assert password_grant(crm_client, password_app, marketer, _wrong(password_app.secret)) == 400


def test_a_client_secret_hashed_before_key_rings_still_gets_tokens_and_is_moved(
    crm_client: Client, password_app: App, marketer: User, settings: object
) -> None:
    base = settings.SECRET_KEY.encode()  # type: ignore[attr-defined]
    legacy_key = hmac.new(base, b"tandem.crm.oauth.client-secret-hash", hashlib.sha256).digest()
    legacy = hmac.new(legacy_key, password_app.secret.encode(), hashlib.sha256).hexdigest()
    ConnectedApp.objects.filter(pk=password_app.app.pk).update(
        client_secret=f"hmac-sha256${legacy}"
    )

    assert password_grant(crm_client, password_app, marketer, password_app.secret) == 200
    rotate("--resume")
    moved = ConnectedApp.objects.get(pk=password_app.app.pk).client_secret
    assert moved.startswith(f"hmac-sha256${SECRET_HASHES.newest_id}$")
    assert password_grant(crm_client, password_app, marketer, password_app.secret) == 200


def test_an_interrupted_rotation_resumes_and_a_finished_one_has_nothing_left(
    password_app: App, key_rings: Path
) -> None:
    from tandem.core.keys_rotation import keys_add

    keys_add("crm", key_rings)
    stale = ConnectedApp.objects.get(pk=password_app.app.pk)
    assert not SECRET_ENCRYPTION.is_current(stale.consumer_secret_encrypted)

    assert "crm consumer secrets: 1 re-encrypted of 1" in rotate("--resume")
    assert "crm consumer secrets: 0 re-encrypted of 1" in rotate("--resume")
    fresh = ConnectedApp.objects.get(pk=password_app.app.pk)
    assert SECRET_ENCRYPTION.is_current(fresh.consumer_secret_encrypted)


def test_a_security_token_issued_before_rotation_still_logs_in(
    standard_user: User, key_rings: Path
) -> None:
    issued = security_token_reset(user=standard_user)
    standard_user.refresh_from_db()
    stored = standard_user.security_token_hash

    rotate()

    standard_user.refresh_from_db()
    assert standard_user.security_token_hash == stored  # nothing can re-hash it
    assert stored.split("$")[1] != SECURITY_TOKEN_HASHES.newest_id
    assert security_token_matches(user=standard_user, token=issued)
    result = user_authenticate_password(
        username=standard_user.username, password=PASSWORD + issued, ip="203.0.113.9", api=True
    )
    assert result.status == LoginStatus.SUCCESS
    fresh = security_token_reset(user=standard_user)
    standard_user.refresh_from_db()
    assert standard_user.security_token_hash.split("$")[1] == SECURITY_TOKEN_HASHES.newest_id
    assert security_token_matches(user=standard_user, token=fresh)
    assert not security_token_matches(user=standard_user, token=issued)


def test_a_security_token_hashed_before_key_rings_still_matches(
    standard_user: User, key_rings: Path, settings: object
) -> None:
    key = settings.SECRET_KEY.encode()  # type: ignore[attr-defined]
    standard_user.security_token_hash = hmac.new(key, b"TOKEN123", hashlib.sha256).hexdigest()
    standard_user.save()

    assert security_token_matches(user=standard_user, token="TOKEN123")
    assert not security_token_matches(user=standard_user, token="TOKEN124")
    settings.LEGACY_KEYS = False  # type: ignore[attr-defined]
    SECURITY_TOKEN_HASHES.refresh()
    assert not security_token_matches(user=standard_user, token="TOKEN123")


def _wrong(secret: str) -> str:
    """The secret with its last character changed (a fixed replacement may equal it)."""
    return secret[:-1] + ("1" if secret.endswith("0") else "0")
