"""Read settings from the environment, refusing bad values with a message naming the variable."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping, Sequence
from pathlib import Path
from urllib.parse import urlsplit

TRUE_SPELLINGS = frozenset({"1", "true", "yes", "on"})
FALSE_SPELLINGS = frozenset({"0", "false", "no", "off"})


class EnvError(ValueError):
    """A TANDEM_* environment variable holds a value that cannot be used."""

    def __init__(self, name: str, value: str, expected: str) -> None:
        super().__init__(f"{name}={value!r} is not valid: expected {expected}.")
        self.name = name


def _raw(name: str, environ: Mapping[str, str] | None) -> str | None:
    """Return the stripped value of `name`, reading `name_FILE` when it is set instead."""
    env = os.environ if environ is None else environ
    if name in env:
        return env[name].strip()
    file_name = env.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise EnvError(f"{name}_FILE", file_name, f"a readable file ({exc.strerror})") from exc
    return None


def env_text(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    """The stripped value of `name` (or of the file `name_FILE` names); None when neither is set."""
    return _raw(name, environ)


def env_str(name: str, default: str, *, environ: Mapping[str, str] | None = None) -> str:
    """A string; empty is refused because it is almost always a mistake."""
    value = _raw(name, environ)
    if value is None:
        return default
    if not value:
        raise EnvError(name, value, "a non-empty string")
    return value


def env_optional(name: str, *, environ: Mapping[str, str] | None = None) -> str | None:
    """A string that may be absent or empty (meaning: not configured)."""
    return _raw(name, environ) or None


def env_bool(name: str, default: bool, *, environ: Mapping[str, str] | None = None) -> bool:
    """A boolean spelled 1/0, true/false, yes/no or on/off."""
    value = _raw(name, environ)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in TRUE_SPELLINGS:
        return True
    if lowered in FALSE_SPELLINGS:
        return False
    raise EnvError(name, value, "one of 1/0, true/false, yes/no, on/off")


def env_int(
    name: str,
    default: int,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    environ: Mapping[str, str] | None = None,
) -> int:
    """An integer, optionally within [minimum, maximum]."""
    value = _raw(name, environ)
    if value is None:
        return default
    expected = _int_range_text(minimum, maximum)
    try:
        number = int(value)
    except ValueError:
        raise EnvError(name, value, expected) from None
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        raise EnvError(name, value, expected)
    return number


def _int_range_text(minimum: int | None, maximum: int | None) -> str:
    if minimum is not None and maximum is not None:
        return f"a whole number from {minimum} to {maximum}"
    if minimum is not None:
        return f"a whole number of at least {minimum}"
    if maximum is not None:
        return f"a whole number of at most {maximum}"
    return "a whole number"


def env_choice(
    name: str, default: str, choices: Sequence[str], *, environ: Mapping[str, str] | None = None
) -> str:
    """One of a fixed set of values."""
    value = _raw(name, environ)
    if value is None:
        return default
    if value not in choices:
        raise EnvError(name, value, "one of " + ", ".join(choices))
    return value


def env_url(
    name: str,
    default: str | None,
    *,
    schemes: Sequence[str],
    environ: Mapping[str, str] | None = None,
) -> str | None:
    """A URL whose scheme is one of `schemes` and which names a host (or a path for files)."""
    value = _raw(name, environ)
    if value is None or value == "":
        return default
    parts = urlsplit(value)
    if parts.scheme not in schemes or not (parts.netloc or parts.path):
        raise EnvError(
            name, value, "a URL starting with " + " or ".join(f"{s}://" for s in schemes)
        )
    return value


def env_list(
    name: str, default: Sequence[str], *, environ: Mapping[str, str] | None = None
) -> list[str]:
    """A comma-separated list; blank items are dropped."""
    value = _raw(name, environ)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_from_file(path: Path) -> str:
    """Read a generated secret from `path`, creating it (mode 0600) on first use."""
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(secrets.token_urlsafe(50))
    # link() is atomic and refuses to overwrite: when two processes start at once,
    # exactly one key wins and both read that one.
    try:
        os.link(draft, path)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text(encoding="utf-8").strip()
