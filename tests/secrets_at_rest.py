"""Check that a secret is nowhere in a service's database: every row of every model, dumped."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def database_dump() -> str:
    """Every row of every installed model, as `dumpdata` writes it (JSON, UTF-8 kept)."""
    out = StringIO()
    call_command("dumpdata", "--all", stdout=out)
    return out.getvalue()


def assert_nowhere_in_database(*plaintexts: str) -> None:
    """Fail if any of `plaintexts` appears in any column of any row."""
    dump = database_dump()
    assert dump.count('"model":') > 10  # the dump really holds the database's rows
    for plaintext in plaintexts:
        assert plaintext
        assert plaintext not in dump, "a secret is stored in plain text"
