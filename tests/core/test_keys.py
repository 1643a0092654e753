"""Key rings: generated per service and purpose, hashes named by key, rotation, start-up refusal."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken

from tandem.core.keys import (
    FernetRing,
    HmacRing,
    KeyConfigError,
    KeySource,
    key_bytes,
    key_id,
    key_problems,
    legacy_derivations,
    load_keys,
    new_key,
    prepend_key,
)

SOURCE = KeySource("crm", "client_secret_hash")


def ring_from(path: Path, legacy: list[bytes] | None = None) -> HmacRing:
    return HmacRing(lambda: load_keys(SOURCE, path, environ={}), lambda: legacy or [])


def test_a_generated_key_file_is_private_and_stable(tmp_path: Path) -> None:
    first = load_keys(SOURCE, tmp_path, environ={})

    path = tmp_path / "keys" / "crm" / "client_secret_hash.keys"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_keys(SOURCE, tmp_path, environ={}) == first
    assert len(key_bytes(first[0], "x")) == 32
    # Each service and purpose has its own key.
    assert load_keys(KeySource("crm", "security_token_hash"), tmp_path, environ={}) != first
    assert load_keys(KeySource("engagement", "tracking"), tmp_path, environ={}) != first


def test_configured_keys_win_and_a_malformed_one_is_refused_without_showing_it(
    tmp_path: Path,
) -> None:
    newest, older = new_key(), new_key()
    environ = {SOURCE.env_name: f"{newest}, {older}"}

    assert load_keys(SOURCE, tmp_path, environ=environ) == [newest, older]
    assert not (tmp_path / "keys").exists()
    with pytest.raises(KeyConfigError) as raised:
        load_keys(SOURCE, tmp_path, environ={SOURCE.env_name: "hunter2-not-a-key"})
    assert str(raised.value).startswith("TANDEM_CRM_CLIENT_SECRET_HASH_KEYS: each key must be")
    assert "hunter2" not in str(raised.value)


def test_keys_file_variable_names_one_key_a_line(tmp_path: Path) -> None:
    newest, older = new_key(), new_key()
    named = tmp_path / "ring"
    named.write_text(f"{newest}\n{older}\n")

    assert load_keys(SOURCE, tmp_path, environ={f"{SOURCE.env_name}_FILE": str(named)}) == [
        newest,
        older,
    ]


def test_a_hash_names_its_key_and_still_matches_after_a_rotation(tmp_path: Path) -> None:
    ring = ring_from(tmp_path)
    stored = ring.hash("s3cret")
    old_id = ring.newest_id

    assert stored.startswith(f"hmac-sha256${old_id}$")
    prepend_key(SOURCE, tmp_path, environ={})
    ring.refresh()

    assert ring.newest_id != old_id
    assert ring.matches("s3cret", stored)
    assert not ring.matches("s3creT", stored)
    assert ring.hash("s3cret").startswith(f"hmac-sha256${ring.newest_id}$")


def test_a_process_that_missed_a_rotation_reads_the_new_key_when_a_hash_names_it(
    tmp_path: Path,
) -> None:
    stale, rotating = ring_from(tmp_path), ring_from(tmp_path)
    stale.hash("warm up")
    prepend_key(SOURCE, tmp_path, environ={})
    rotating.refresh()

    assert stale.matches("s3cret", rotating.hash("s3cret"))


def test_a_hash_naming_no_known_key_or_altered_does_not_match(tmp_path: Path) -> None:
    ring = ring_from(tmp_path)
    kid, digest = ring.hash("s3cret").split("$")[1:]

    assert not ring.matches("s3cret", f"hmac-sha256$AAAAAAAA${digest}")
    assert not ring.matches("s3cret", f"hmac-sha256${kid}${'0' * 64}")
    assert not ring.matches("", ring.hash(""))


def test_legacy_hashes_match_only_with_the_legacy_key(tmp_path: Path) -> None:
    import hashlib
    import hmac

    legacy_key = b"legacy" * 6
    legacy_hex = hmac.new(legacy_key, b"s3cret", hashlib.sha256).hexdigest()

    assert ring_from(tmp_path, [legacy_key]).matches("s3cret", legacy_hex)
    assert ring_from(tmp_path, [legacy_key]).matches(
        "s3cret", "hmac-sha256$" + legacy_hex, legacy_prefix="hmac-sha256$"
    )
    assert not ring_from(tmp_path, []).matches("s3cret", legacy_hex)


def test_fernet_ring_reads_old_ciphertexts_and_knows_what_is_current(tmp_path: Path) -> None:
    source = KeySource("engagement", "connect_secrets")
    ring = FernetRing(lambda: load_keys(source, tmp_path, environ={}))
    old = ring.encrypt("pw")
    prepend_key(source, tmp_path, environ={})
    ring.refresh()

    assert ring.decrypt(old) == "pw"
    assert not ring.is_current(old)
    assert ring.is_current(ring.encrypt("pw"))
    with pytest.raises(InvalidToken):
        ring.decrypt(Fernet(Fernet.generate_key()).encrypt(b"pw").decode())


def test_a_key_shared_between_purposes_or_services_is_a_problem(tmp_path: Path) -> None:
    shared = new_key()
    environ = {
        "TANDEM_CRM_CLIENT_SECRET_HASH_KEYS": shared,
        "TANDEM_ENGAGEMENT_TRACKING_KEYS": shared,
    }

    problems = key_problems("crm", tmp_path, secret_key="x" * 50, environ=environ)

    assert [str(p) for p in problems] == [
        "TANDEM_ENGAGEMENT_TRACKING_KEYS: shares a key with TANDEM_CRM_CLIENT_SECRET_HASH_KEYS"
    ]
    assert key_problems("crm", tmp_path, secret_key="x" * 50, environ={}) == []


def test_a_key_derived_from_secret_key_is_a_problem(tmp_path: Path) -> None:
    import base64

    secret_key = "y" * 50
    derived = base64.urlsafe_b64encode(legacy_derivations(secret_key)[0]).decode()

    problems = key_problems(
        "crm", tmp_path, secret_key=secret_key, environ={"TANDEM_CRM_CLIENT_SECRET_KEYS": derived}
    )

    assert [str(p) for p in problems] == [
        "TANDEM_CRM_CLIENT_SECRET_KEYS: is derived from SECRET_KEY"
    ]


def _isolated_environ() -> dict[str, str]:
    """This process's environment without keys, databases or cache: SQLite under tmp_path."""
    dropped = ("_KEYS", "_KEYS_FILE", "_DATABASE_URL", "TANDEM_CACHE_URL")
    return {k: v for k, v in os.environ.items() if not k.endswith(dropped)}


def _check(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = _isolated_environ()
    environ.update({"TANDEM_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "check"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_with_debug_off_shared_keys_stop_the_service_with_one_line(tmp_path: Path) -> None:
    shared = new_key()

    refused = _check(
        tmp_path,
        TANDEM_DEBUG="0",
        TANDEM_CRM_CLIENT_SECRET_KEYS=shared,
        TANDEM_CRM_SECURITY_TOKEN_HASH_KEYS=shared,
    )
    allowed = _check(
        tmp_path,
        TANDEM_DEBUG="1",
        TANDEM_CRM_CLIENT_SECRET_KEYS=shared,
        TANDEM_CRM_SECURITY_TOKEN_HASH_KEYS=shared,
    )

    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "tandem: error: TANDEM_CRM_SECURITY_TOKEN_HASH_KEYS: shares a key with "
        "TANDEM_CRM_CLIENT_SECRET_KEYS"
    ]
    assert shared not in refused.stderr
    assert allowed.returncode == 0, allowed.stderr


def test_generated_keys_start_with_debug_off(tmp_path: Path) -> None:
    result = _check(tmp_path, TANDEM_DEBUG="0")

    assert result.returncode == 0, result.stderr
    kids = {
        key_id(key_bytes(path.read_text().split()[0], "x"))
        for path in (tmp_path / "keys" / "crm").iterdir()
    }
    assert len(kids) == 3


def _tandem(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = _isolated_environ()
    environ.update({"TANDEM_VAR_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_tandem_keys_rotate_adds_a_key_per_ring_and_reports_progress(tmp_path: Path) -> None:
    assert _tandem(tmp_path, "crm", "migrate", "-v", "0").returncode == 0
    before = {p.name: p.read_text().split() for p in (tmp_path / "keys" / "crm").iterdir()}

    result = _tandem(tmp_path, "keys", "rotate", "--service", "crm")

    assert result.returncode == 0, result.stderr
    after = {p.name: p.read_text().split() for p in (tmp_path / "keys" / "crm").iterdir()}
    assert (
        sorted(after)
        == sorted(before)
        == [
            "client_secret.keys",
            "client_secret_hash.keys",
            "security_token_hash.keys",
        ]
    )
    for name, keys in after.items():
        assert keys[1:] == before[name]  # the new key first, the old ones kept
        assert f"crm {name.removesuffix('.keys')}: new key {key_id(key_bytes(keys[0], 'x'))}" in (
            result.stdout
        )
    assert "crm consumer secrets: 0 re-encrypted of 0" in result.stdout


def test_tandem_keys_rotate_refuses_keys_set_in_the_environment(tmp_path: Path) -> None:
    result = _tandem(
        tmp_path, "keys", "rotate", "--service", "crm", TANDEM_CRM_CLIENT_SECRET_HASH_KEYS=new_key()
    )

    assert result.returncode == 2
    assert "TANDEM_CRM_CLIENT_SECRET_HASH_KEYS: is set in the environment" in result.stderr
    assert "Traceback" not in result.stderr
