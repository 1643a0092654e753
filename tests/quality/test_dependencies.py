"""Every runtime dependency pinned in pyproject.toml is used: imported by our code, or named
where Django, Celery or the process runner loads it."""

from __future__ import annotations

import re
import tomllib

from tandem.core.paths import PROJECT_ROOT

# Distribution → how our code reaches it, when not by `import <name>`.
REACHED_BY = {
    "django-oauth-toolkit": "oauth2_provider",
    "pyjwt": "jwt",
    "argon2-cffi": "Argon2PasswordHasher",  # settings.PASSWORD_HASHERS
    "granian": '"granian"',  # `tandem up` runs `python -m granian`
    "whitenoise": "whitenoise.",  # settings.MIDDLEWARE and STORAGES
    "dj-database-url": "dj_database_url",
    "django-storages": "storages.",  # settings.STORAGES
    "psycopg": "server_side_binding",  # Django's PostgreSQL backend, psycopg 3's options
}
SOURCES = ("tandem", "config")


def _requirements() -> list[str]:
    project = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]
    return [
        re.split(r"[\[<>=!~ ]", spec, maxsplit=1)[0].lower() for spec in project["dependencies"]
    ]


def _our_code() -> str:
    return "\n".join(
        path.read_text(encoding="utf-8")
        for top in SOURCES
        for path in (PROJECT_ROOT / top).rglob("*.py")
    )


def test_every_runtime_dependency_is_used() -> None:
    code = _our_code()
    unused = []
    for name in _requirements():
        needle = REACHED_BY.get(name, name.replace("-", "_"))
        pattern = (
            re.escape(needle)
            if needle not in (name, name.replace("-", "_"))
            else rf"^\s*(import|from) {re.escape(needle)}\b"
        )
        if not re.search(pattern, code, re.MULTILINE):
            unused.append(name)

    assert unused == []
