"""Writing a page of synchronized rows into the data extension's table, in bulk.

On PostgreSQL rows travel by COPY: straight into the table for a first copy into an empty
data extension (no key can exist yet), else into a per-transaction staging table followed by
one `INSERT … SELECT … ON CONFLICT (data extension, key) DO UPDATE`. Elsewhere (SQLite) the
same upsert is one bulk INSERT through the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

from django.db import connection, transaction

from tandem.engagement.data.models import DataExtensionRow

Pair = tuple[str, dict[str, str]]
STAGE = "sync_rows_stage"
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":")).encode


@contextmanager
def page_transaction() -> Iterator[None]:
    """One page's rows and its mark, committed together without waiting for the WAL flush
    (PostgreSQL): a database crash can lose the last pages, but always with their mark, so
    the next run reads them again; nothing is ever half applied."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def rows_write(data_extension_id: int, pairs: Sequence[Pair], *, fresh: bool) -> None:
    """Insert or replace rows by key; `fresh`: none of the keys exists (nothing to replace).
    Runs inside the caller's transaction."""
    if not pairs:
        return
    if connection.vendor != "postgresql":
        DataExtensionRow.objects.bulk_create(
            [
                DataExtensionRow(data_extension_id=data_extension_id, key=k, values=v)
                for k, v in pairs
            ],
            batch_size=2000,
            update_conflicts=True,
            unique_fields=["data_extension", "key"],
            update_fields=["values"],
        )
        return
    table = connection.ops.quote_name(DataExtensionRow._meta.db_table)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: COPY is not in the DB-API
        if fresh:
            with cursor.copy(f'COPY {table} (data_extension_id, key, "values") FROM STDIN') as copy:
                for key, values in pairs:
                    copy.write_row((data_extension_id, key, _encode(values)))
            return
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (key text, v jsonb) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {STAGE} (key, v) FROM STDIN") as copy:
            for key, values in pairs:
                copy.write_row((key, _encode(values)))
        cursor.execute(
            f'INSERT INTO {table} (data_extension_id, key, "values") '  # noqa: S608 (model names)
            f"SELECT %s, key, v FROM {STAGE} "
            'ON CONFLICT (data_extension_id, key) DO UPDATE SET "values" = EXCLUDED."values"',
            (data_extension_id,),
        )
        cursor.execute(f"TRUNCATE {STAGE}")  # emptied now: the transaction may be a savepoint


class PageWriter:
    """Commits pages on a thread of its own (its own database connection), one at a time and
    in order, while the caller reads and prepares the next page: the database's time and the
    sync's own overlap. `submit` waits for the previous page first, so a failure (a lost
    lease) surfaces before the next page is written."""

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-write")
        self._pending: Future[None] | None = None
        self._used = False

    @staticmethod
    def usable() -> bool:
        """On PostgreSQL, unless the caller is inside a transaction (whose uncommitted rows
        another connection could not see): then pages are written in line."""
        return connection.vendor == "postgresql" and not connection.in_atomic_block

    def submit(self, write: Callable[[], None]) -> None:
        self.wait()
        self._used = True
        self._pending = self._pool.submit(write)

    def wait(self) -> None:
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> PageWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                self.wait()
        finally:
            if self._used:
                self._pool.submit(_close_connection).result()
            self._pool.shutdown()


def _close_connection() -> None:
    connection.close()  # run on the writer's thread: its own connection


def rows_copy_new(
    data_extension_id: int, names: Sequence[str], rows: Sequence[tuple[str, ...]]
) -> None:
    """PostgreSQL, a first copy: rows as (key, value of each of `names`) go by COPY into a
    staging table of text columns; PostgreSQL builds each row's JSON as it inserts them (no
    key exists yet). Faster than building the JSON in Python. Inside the caller's transaction."""
    if not rows:
        return
    table = connection.ops.quote_name(DataExtensionRow._meta.db_table)
    stage = f"sync_copy_stage_{len(names)}"
    columns = [f"c{index}" for index in range(len(names))]
    pairs = ", ".join(f"%s::text, {column}" for column in columns)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: COPY is not in the DB-API
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
            f"(key text, {', '.join(f'{column} text' for column in columns)}) "
            "ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {stage} (key, {', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(
            f'INSERT INTO {table} (data_extension_id, key, "values") '  # noqa: S608 (model names)
            f"SELECT %s::bigint, key, jsonb_build_object({pairs}) FROM {stage}",
            (data_extension_id, *names),
        )
        cursor.execute(f"TRUNCATE {stage}")  # emptied now: the transaction may be a savepoint
