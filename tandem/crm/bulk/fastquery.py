"""The PostgreSQL fast path of query jobs: a chunk's CSV lines made and stored by the database.

One statement per chunk selects the chunk's rows (the same Django query the generic path
runs), formats each row as the CSV line the generic path would write (every value quoted,
quotes doubled, booleans `true`/`false`, dateTimes `…T…Z`, an empty value `""`), aggregates the
lines into the chunk's JSON array and inserts the chunk, answering its row count and the key of
its last row. No row passes through Python, and the chunk commits with the job's position in
the caller's guarded transaction (ADR 0540).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.db import connection

from tandem.crm.soql.orm import (
    field_path,
    formatted_columns,
    formatted_name,
    query_window,
    selected_paths,
)
from tandem.crm.soql.schema import ID_TYPES, TEXT_TYPES, FieldType

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from tandem.crm.bulk.models import BulkJob
    from tandem.crm.soql.bind import BoundQuery

# Types whose CSV text the database makes exactly as processing._csv_value does (a float's
# text differs between Python and PostgreSQL at the edges: such queries take the generic path).
SUPPORTED = (
    TEXT_TYPES | ID_TYPES | {FieldType.BOOLEAN, FieldType.INT, FieldType.DATE, FieldType.DATETIME}
)


def eligible(query: BoundQuery) -> bool:
    return connection.vendor == "postgresql" and all(
        f.field.type in SUPPORTED for f in query.fields
    )


def _text(kind: FieldType, column: str) -> str:
    if kind == FieldType.BOOLEAN:
        return f"CASE WHEN {column} THEN 'true' WHEN NOT {column} THEN 'false' END"
    if kind == FieldType.DATE:
        return f"to_char({column}, 'YYYY-MM-DD')"
    if kind == FieldType.DATETIME:  # already Salesforce's JSON text: …+0000 becomes …Z
        return (
            f"CASE WHEN right({column}, 5) = '+0000' THEN left({column}, -5) || 'Z' "
            f"ELSE {column} END"
        )
    return f"{column}::text"


def _line(query: BoundQuery, paths: list[str], formatted: dict[str, Any]) -> str:
    """The SQL of one row's CSV line with its `\n`: every value quoted, quotes doubled, an
    empty value as `""` (csv.QUOTE_ALL's line); the delimiter is the first parameter."""
    index = {p: i for i, p in enumerate(paths)}
    values = []
    for field in query.fields:
        column = f"q.c{index[_path(field, formatted)]}"
        values.append(f"""replace(coalesce({_text(field.field.type, column)}, ''), '"', '""')""")
    return f"""'"' || concat_ws('"' || %s || '"', {", ".join(values)}) || E'"\\n'"""


def _path(field: Any, formatted: dict[str, Any]) -> str:
    path = field_path(field)
    return formatted_name(path) if path in formatted else path


def store_chunk(
    job: BulkJob,
    query: BoundQuery,
    queryset: QuerySet[Any],
    *,
    position: int,
    size: int,
    after_pk: Any,
    delimiter: str,
) -> tuple[int, Any]:
    """Store records `position`… of the query as the job's next chunk: (rows, last key)."""
    from tandem.crm.bulk.models import BulkQueryChunk

    formatted = formatted_columns(query)
    annotations = {formatted_name(p): e for p, e in formatted.items()}
    paths = [formatted_name(p) if p in formatted else p for p in selected_paths(query)]
    window = query_window(
        query, queryset, position=position, size=size, after_pk=after_pk, annotations=annotations
    )
    if window is None:
        return 0, None
    sql, params = window.values_list(*paths).query.sql_with_params()
    names = ", ".join(f"c{i}" for i in range(len(paths)))
    table = BulkQueryChunk._meta.db_table
    # Django's SQL and our own expressions; every value is a parameter. The lines are joined
    # in the order of the (ordered, limited) subquery.
    last_key = "max(q.c0)" if not query.order_by else "(array_agg(q.c0))[count(*)]"
    statement = (
        f"WITH chunk AS (SELECT count(*) AS n, string_agg({_line(query, paths, formatted)}, '') "  # noqa: S608
        f"AS text, {last_key} AS last FROM ({sql}) AS q({names})), "
        f'saved AS (INSERT INTO "{table}" (job_id, first_row, row_count, lines, text) '
        "SELECT %s, %s, n, '[]', text FROM chunk WHERE n > 0 RETURNING row_count) "
        "SELECT (SELECT row_count FROM saved), (SELECT last FROM chunk)"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [delimiter, *params, job.pk, position])
        count, last = cursor.fetchone()
    return count or 0, last
