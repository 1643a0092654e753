"""The settings helpers accept the documented values and refuse everything else by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from tandem.core.env import (
    EnvError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_str,
    env_url,
    secret_from_file,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("YES", True),
        ("on", True),
        ("0", False),
        ("False", False),
        ("no", False),
        ("off", False),
        (" true ", True),
    ],
)
def test_bool_accepts_documented_spellings(raw: str, expected: bool) -> None:
    assert env_bool("TANDEM_DEBUG", not expected, environ={"TANDEM_DEBUG": raw}) is expected


@pytest.mark.parametrize("raw", ["maybe", "", "2", "tru", "y"])
def test_bool_refuses_anything_else_naming_the_variable(raw: str) -> None:
    with pytest.raises(EnvError, match="TANDEM_DEBUG") as caught:
        env_bool("TANDEM_DEBUG", False, environ={"TANDEM_DEBUG": raw})

    assert caught.value.name == "TANDEM_DEBUG"


def test_bool_uses_default_when_unset() -> None:
    assert env_bool("TANDEM_DEBUG", True, environ={}) is True


def test_int_refuses_text() -> None:
    with pytest.raises(EnvError, match="TANDEM_SMTP_PORT='abc'"):
        env_int("TANDEM_SMTP_PORT", 25, environ={"TANDEM_SMTP_PORT": "abc"})


def test_int_refuses_out_of_range() -> None:
    with pytest.raises(EnvError, match="from 1 to 65535"):
        env_int(
            "TANDEM_SMTP_PORT", 25, minimum=1, maximum=65535, environ={"TANDEM_SMTP_PORT": "70000"}
        )


def test_int_parses_in_range() -> None:
    assert env_int("TANDEM_SMTP_PORT", 25, minimum=1, environ={"TANDEM_SMTP_PORT": "2525"}) == 2525


def test_choice_refuses_unknown_service() -> None:
    with pytest.raises(EnvError, match="one of crm, engagement"):
        env_choice("TANDEM_SERVICE", "crm", ("crm", "engagement"), environ={"TANDEM_SERVICE": "x"})


def test_choice_accepts_listed_value() -> None:
    environ = {"TANDEM_SERVICE": "engagement"}
    assert (
        env_choice("TANDEM_SERVICE", "crm", ("crm", "engagement"), environ=environ) == "engagement"
    )


def test_str_refuses_empty() -> None:
    with pytest.raises(EnvError, match="non-empty"):
        env_str("TANDEM_SMTP_HOST", "localhost", environ={"TANDEM_SMTP_HOST": "  "})


@pytest.mark.parametrize("raw", ["localhost:6379", "ftp://host/x", "redis//host"])
def test_url_refuses_wrong_scheme(raw: str) -> None:
    with pytest.raises(EnvError, match="TANDEM_BROKER_URL"):
        env_url("TANDEM_BROKER_URL", None, schemes=("redis",), environ={"TANDEM_BROKER_URL": raw})


def test_url_accepts_listed_scheme() -> None:
    environ = {"TANDEM_BROKER_URL": "redis://127.0.0.1:6379/0"}
    assert env_url("TANDEM_BROKER_URL", None, schemes=("redis",), environ=environ) == (
        "redis://127.0.0.1:6379/0"
    )


def test_list_splits_and_drops_blanks() -> None:
    environ = {"TANDEM_ALLOWED_HOSTS": "a.test, ,b.test,"}
    assert env_list("TANDEM_ALLOWED_HOSTS", [], environ=environ) == ["a.test", "b.test"]


def test_value_can_come_from_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("s3cret\n")

    value = env_str("TANDEM_SECRET_KEY", "x", environ={"TANDEM_SECRET_KEY_FILE": str(secret)})

    assert value == "s3cret"


def test_missing_file_is_refused_by_name(tmp_path: Path) -> None:
    environ = {"TANDEM_SECRET_KEY_FILE": str(tmp_path / "absent")}

    with pytest.raises(EnvError, match="TANDEM_SECRET_KEY_FILE"):
        env_str("TANDEM_SECRET_KEY", "x", environ=environ)


def test_generated_secret_is_created_once_and_private(tmp_path: Path) -> None:
    path = tmp_path / "var" / "secret_key"

    first = secret_from_file(path)
    second = secret_from_file(path)

    assert first == second
    assert len(first) >= 50
    assert path.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]
