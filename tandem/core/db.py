"""Plain-SQL writes for the hottest paths: the ORM's INSERT for an instance without compiling it
on every call, and several writes sent to the database as one statement (ADR 0007)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model

Statement = tuple[str, list[Any]]
# PostgreSQL: commit this transaction without waiting for the WAL flush (SET LOCAL, as a value).
NO_WAIT_FOR_DISK = "set_config('synchronous_commit', 'off', true)"


@lru_cache(maxsize=32)
def _insert_template(model: type[Model], vendor: str) -> tuple[str, tuple[Field[Any, Any], ...]]:
    meta = model._meta
    fields = tuple(
        field
        for field in meta.local_concrete_fields
        if field is not meta.auto_field and not getattr(field, "generated", False)
    )
    quote = connection.ops.quote_name
    columns = ", ".join(quote(str(field.column)) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    table = quote(meta.db_table)
    return f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", fields  # noqa: S608 - names


def insert_statement(instance: Model) -> Statement:
    """The INSERT the ORM would run to create `instance`, its fields' pre_save hooks included
    (an auto-increment primary key is left to the database and not read back)."""
    sql, fields = _insert_template(type(instance), connection.vendor)
    values = [
        field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields
    ]
    return sql, values


def write_together(statements: Sequence[Statement], *, wait_for_disk: bool = True) -> None:
    """Run the writes atomically in one round trip: data-modifying CTEs in one statement on
    PostgreSQL, one after another in a transaction elsewhere. `wait_for_disk=False` commits
    without waiting for the WAL flush (`synchronous_commit = off` for this transaction only):
    a database crash may lose the last fraction of a second of such writes, never consistency."""
    if connection.vendor != "postgresql":
        with transaction.atomic(savepoint=False), connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
        return
    ctes = ", ".join(f"write_{number} AS ({sql})" for number, (sql, _) in enumerate(statements))
    final = "SELECT 1" if wait_for_disk else f"SELECT {NO_WAIT_FOR_DISK}"
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH {ctes} {final}", [value for _, params in statements for value in params]
        )


def returning_without_waiting_for_disk(sql: str) -> str:
    """A write `… RETURNING …` that, on PostgreSQL, commits without waiting for the WAL flush
    when it wrote a row (the rows come back with one more column); unchanged elsewhere."""
    if connection.vendor != "postgresql":
        return sql
    return f"WITH result AS ({sql}) SELECT result.*, {NO_WAIT_FOR_DISK} FROM result"  # noqa: S608
