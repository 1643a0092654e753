"""Copy a send's audience into one send record per subscriber before anything is sent.

One set-based `INSERT … SELECT` does it, the first row by id winning for each subscriber key
(SQLite: `ON CONFLICT DO NOTHING` on the unique (send, subscriber key) constraint; PostgreSQL:
`DISTINCT ON`, see `_insert`); only the columns the email renders are copied. When the account
has suppressions, a second one records suppressed subscribers (unsubscribed, hard-bounced) as
`failed` with the reason, so they are never offered to SMTP. Invalid addresses are then marked
`failed`: SQL picks the records whose address may be invalid, `address_problem` decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.sends.models import (
    OPEN_RECORDS_SQL,
    RecordStatus,
    Send,
    SendRecord,
    Suppression,
)

# RFC 5321 dot-atom addresses in ASCII; SMTPUTF8 addresses are refused with a clear error.
# Matched with fullmatch: `$` would also accept a trailing newline (a bare LF in RCPT TO).
_ADDRESS = re.compile(
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+"
)


@dataclass(frozen=True)
class SnapshotSummary:
    """What the snapshot wrote and skipped."""

    rows: int
    records: int
    duplicates: int
    suppressed: int
    invalid: int


def address_problem(address: str) -> str:
    """Why `address` cannot receive mail, or "" when it can."""
    if not address:
        return "no email address"
    if len(address) > 254 or not _ADDRESS.fullmatch(address):
        return f"invalid email address {address[:254]!r}"
    return ""


class _Sql:
    """The vendor's way of reading a text field out of a row's JSON values."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def text(self, field: str, params: list[Any]) -> str:
        if self.postgres:
            params.append(field)
            return 'r."values" ->> %s::text'
        params.append('$."' + field.replace('"', '""') + '"')
        return 'CAST(json_extract(r."values", %s) AS TEXT)'

    def object(self, fields: list[str], params: list[Any]) -> str:
        pairs = []
        for field in fields:
            params.append(field)
            label = "%s::text" if self.postgres else "%s"
            pairs.append(f"{label}, COALESCE({self.text(field, params)}, '')")
        function = "jsonb_build_object" if self.postgres else "json_object"
        return f"{function}({', '.join(pairs)})"


def _key_expression(sql: _Sql, data_extension: DataExtension, params: list[Any]) -> str:
    if not data_extension.subscriber_key_field:
        return "r.key"
    found = sql.text(data_extension.subscriber_key_field, params)
    return f"SUBSTR(COALESCE(NULLIF(TRIM({found}), ''), r.key), 1, 255)"


def _columns(data_extension: DataExtension, fields: Iterable[str]) -> list[str]:
    wanted = {name.casefold() for name in fields}
    names = data_extension.fields.values_list("name", flat=True)
    return [name for name in names if name.casefold() in wanted]


def snapshot_audience(*, send: Send, fields: Iterable[str]) -> SnapshotSummary:
    """Write the send records of `send`'s data extension; keep only the `fields` it renders."""
    data_extension = send.data_extension
    assert data_extension is not None
    rows = DataExtensionRow.objects.filter(data_extension=data_extension).count()
    columns = _columns(data_extension, fields)
    # Most accounts have no suppression yet: then neither the anti-join of the main INSERT nor
    # the suppressed INSERT (a second pass over every row, 0.08 s for 100,000 on SQLite) is run.
    # A suppression committed after this check is like one committed after the snapshot.
    suppressing = Suppression.objects.filter(account_id=send.account_id).exists()
    inserted = _insert(send, data_extension, columns, suppressing=suppressing)
    suppressed = _insert_suppressed(send, data_extension, columns) if suppressing else 0
    invalid = _mark_invalid_addresses(send)
    records = inserted + suppressed
    return SnapshotSummary(rows, records, rows - records, suppressed, invalid)


def _suppressed_clause(
    sql: _Sql, send: Send, data_extension: DataExtension, params: list[Any]
) -> str:
    table = connection.ops.quote_name(Suppression._meta.db_table)
    params.append(send.account_id)
    key = _key_expression(sql, data_extension, params)
    return f"EXISTS (SELECT 1 FROM {table} s WHERE s.account_id = %s AND s.subscriber_key = {key})"  # noqa: S608


def _insert_suppressed(send: Send, data_extension: DataExtension, columns: list[str]) -> int:
    """Suppressed subscribers become `failed` records naming the suppression's reason."""
    sql, params = _Sql(), list[Any]()
    records = connection.ops.quote_name(SendRecord._meta.db_table)
    rows = connection.ops.quote_name(DataExtensionRow._meta.db_table)
    suppressions = connection.ops.quote_name(Suppression._meta.db_table)
    params.append(send.id)
    key = _key_expression(sql, data_extension, params)
    email = f"SUBSTR(COALESCE(TRIM({sql.text(data_extension.email_field, params)}), ''), 1, 254)"
    values = sql.object(columns, params)
    params.append(RecordStatus.FAILED)
    params.append(send.account_id)
    join_key = _key_expression(sql, data_extension, params)
    params.append(data_extension.id)
    error = (
        "'suppressed: ' || s.reason || CASE WHEN s.detail <> '' "
        "THEN ' (' || s.detail || ')' ELSE '' END"
    )
    statement = (
        f'INSERT INTO {records} (send_id, subscriber_key, email, "values", status, attempts, '  # noqa: S608 (names from model meta)
        "smtp_code, error, open_count, click_count) "
        f"SELECT %s, {key}, {email}, {values}, %s, 0, s.smtp_code, {error}, 0, 0 "
        f"FROM {rows} r JOIN {suppressions} s "
        f"ON s.account_id = %s AND s.subscriber_key = {join_key} "
        "WHERE r.data_extension_id = %s ORDER BY r.id "
        "ON CONFLICT (send_id, subscriber_key) DO NOTHING"
    )
    # Parameters were appended in the order their placeholders appear in the statement.
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def _insert(
    send: Send, data_extension: DataExtension, columns: list[str], *, suppressing: bool
) -> int:
    """Queued records of the subscribers not suppressed, one per subscriber key."""
    sql = _Sql()
    records = connection.ops.quote_name(SendRecord._meta.db_table)
    rows = connection.ops.quote_name(DataExtensionRow._meta.db_table)
    head = (
        f'INSERT INTO {records} (send_id, subscriber_key, email, "values", status, attempts, '
        "error, open_count, click_count) "
    )
    key_params: list[Any] = []
    email_params: list[Any] = []
    values_params: list[Any] = []
    where_params: list[Any] = [data_extension.id]
    key = _key_expression(sql, data_extension, key_params)
    address = sql.text(data_extension.email_field, email_params)
    email = f"SUBSTR(COALESCE(TRIM({address}), ''), 1, 254)"
    values = sql.object(columns, values_params)
    where = "r.data_extension_id = %s"
    if suppressing:
        where += f" AND NOT {_suppressed_clause(sql, send, data_extension, where_params)}"
    selected = [*key_params, *email_params, *values_params]
    if sql.postgres:
        # The first row by id of each key, chosen before inserting: `ON CONFLICT DO NOTHING`
        # makes each row a speculative insertion (an arbiter index probe, then a confirmation),
        # 0.97 → 0.76 s of server CPU for 100,000 rows; the sort is by bytes (COLLATE "C"),
        # equality being the unique index's. The outer ORDER BY keeps records in row order.
        # A duplicate this missed would fail the unique constraint, never be inserted twice.
        statement = (
            f"{head}SELECT %s, d.k, d.e, d.v, %s, 0, '', 0, 0 FROM ("  # noqa: S608
            f'SELECT DISTINCT ON (k) r.id, {key} COLLATE "C" AS k, {email} AS e, {values} AS v '
            f"FROM {rows} r WHERE {where} ORDER BY k, r.id) d ORDER BY d.id"
        )
        params = [send.id, RecordStatus.QUEUED, *selected, *where_params]
    else:
        # SQLite's conflict check is the unique index lookup it does for every row anyway.
        statement = (
            f"{head}SELECT %s, {key}, {email}, {values}, %s, 0, '', 0, 0 FROM {rows} r "  # noqa: S608
            f"WHERE {where} ORDER BY r.id ON CONFLICT (send_id, subscriber_key) DO NOTHING"
        )
        params = [send.id, *selected, RecordStatus.QUEUED, *where_params]
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


# PostgreSQL picks the records whose address may be invalid, `address_problem` decides for each
# (the error text is its), so only those few rows are read into Python, not all of them. The
# pattern is the address pattern without its length bounds, which made PostgreSQL's regular
# expression 8 times slower (410 against 50 ms of CPU for 100,000 addresses): a label is
# letters and digits, inner hyphens allowed; no domain longer than 63 characters is passed, so
# no label is, nor an address longer than address_problem allows. COLLATE "C": ranges are
# code points. PostgreSQL's `$` is the end of the text.
_LABEL = "[A-Za-z0-9]+(?:-+[A-Za-z0-9]+)*"
_LOCAL = "[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+"
POSTGRES_PASSES = f"^{_LOCAL}@{_LABEL}(?:\\.{_LABEL})+$"
POSTGRES_SUSPICIOUS = (
    "email COLLATE \"C\" !~ %s OR length(email) - strpos(email, '@') > 63 OR length(email) > 254"
)
# SQLite has no regular expressions of its own: there `address_problem` itself is called by the
# UPDATE (58 ms for 100,000 against 164 ms reading every record into Python; GLOB tests of the
# same rules cost 530 ms).
_SQLITE_FUNCTION = "tandem_address_problem"


def _mark_invalid_addresses(send: Send) -> int:
    """Records whose address cannot receive mail become `failed`, with the reason."""
    table = connection.ops.quote_name(SendRecord._meta.db_table)
    # The open-records condition lets SQLite read the partial index (see claims._claim_sql).
    queued = f"send_id = %s AND {OPEN_RECORDS_SQL} AND status = %s"
    if connection.vendor != "postgresql":
        connection.ensure_connection()
        connection.connection.create_function(
            _SQLITE_FUNCTION, 1, address_problem, deterministic=True
        )
        statement = (
            f"UPDATE {table} SET status = %s, error = {_SQLITE_FUNCTION}(email) "  # noqa: S608
            f"WHERE {queued} AND {_SQLITE_FUNCTION}(email) <> ''"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, [RecordStatus.FAILED, send.id, RecordStatus.QUEUED])
            return int(cursor.rowcount)
    statement = f"SELECT id, email FROM {table} WHERE {queued} AND ({POSTGRES_SUSPICIOUS})"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(statement, [send.id, RecordStatus.QUEUED, POSTGRES_PASSES])
        candidates = cursor.fetchall()
    failed = []
    for record_id, address in candidates:
        problem = address_problem(address)
        if problem:
            failed.append(SendRecord(id=record_id, status=RecordStatus.FAILED, error=problem))
    SendRecord.objects.bulk_update(failed, ["status", "error"], batch_size=1000)
    return len(failed)
