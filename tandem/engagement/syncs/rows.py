"""Writing a page of synchronized rows into the data extension's table, in bulk.

On PostgreSQL rows travel by COPY: straight into the table for a first copy into an empty
data extension (no key can exist yet), else into a per-transaction staging table followed by
one `INSERT … SELECT … ON CONFLICT (data extension, key) DO UPDATE`. Elsewhere (SQLite) the
same upsert is one bulk INSERT through the ORM.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from django.db import connection

from tandem.engagement.data.models import DataExtensionRow

Pair = tuple[str, dict[str, str]]
STAGE = "sync_rows_stage"


def rows_write(data_extension_id: int, pairs: Sequence[Pair], *, fresh: bool) -> None:
    """Insert or replace rows by key; `fresh`: none of the keys exists (nothing to replace).
    Runs inside the caller's transaction."""
    if not pairs:
        return
    if connection.vendor != "postgresql":
        DataExtensionRow.objects.bulk_create(
            [DataExtensionRow(data_extension_id=data_extension_id, key=k, values=v)
             for k, v in pairs],
            batch_size=2000, update_conflicts=True, unique_fields=["data_extension", "key"],
            update_fields=["values"],
        )  # fmt: skip
        return
    table = connection.ops.quote_name(DataExtensionRow._meta.db_table)
    with connection.cursor() as wrapper:
        cursor = wrapper.cursor  # psycopg's own cursor: COPY is not in the DB-API
        if fresh:
            with cursor.copy(f'COPY {table} (data_extension_id, key, "values") FROM STDIN') as copy:
                for key, values in pairs:
                    copy.write_row((data_extension_id, key, json.dumps(values)))
            return
        cursor.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {STAGE} (key text, v jsonb) ON COMMIT DELETE ROWS"
        )
        with cursor.copy(f"COPY {STAGE} (key, v) FROM STDIN") as copy:
            for key, values in pairs:
                copy.write_row((key, json.dumps(values)))
        cursor.execute(
            f'INSERT INTO {table} (data_extension_id, key, "values") '  # noqa: S608 (model names)
            f"SELECT %s, key, v FROM {STAGE} "
            'ON CONFLICT (data_extension_id, key) DO UPDATE SET "values" = EXCLUDED."values"',
            (data_extension_id,),
        )
