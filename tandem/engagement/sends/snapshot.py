"""Copy a send's audience into one send record per subscriber before anything is sent.

One set-based `INSERT … SELECT … ON CONFLICT DO NOTHING` does it: the unique (send, subscriber
key) constraint de-duplicates (the first row by id wins) and only the columns the email renders
are copied. A second one records suppressed subscribers (unsubscribed, hard-bounced) as `failed`
with the reason, so they are never offered to SMTP. Invalid addresses are then marked `failed`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection

from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.sends.models import RecordStatus, Send, SendRecord, Suppression

# RFC 5321 dot-atom addresses in ASCII; SMTPUTF8 addresses are refused with a clear error.
_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
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
    if len(address) > 254 or not _ADDRESS.match(address):
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
    inserted = _insert(send, data_extension, columns)
    suppressed = _insert_suppressed(send, data_extension, columns)
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


def _insert(send: Send, data_extension: DataExtension, columns: list[str]) -> int:
    sql, params = _Sql(), list[Any]()
    records = connection.ops.quote_name(SendRecord._meta.db_table)
    rows = connection.ops.quote_name(DataExtensionRow._meta.db_table)
    params.append(send.id)
    key = _key_expression(sql, data_extension, params)
    email = f"SUBSTR(COALESCE(TRIM({sql.text(data_extension.email_field, params)}), ''), 1, 254)"
    values = sql.object(columns, params)
    params.append(RecordStatus.QUEUED)
    suppressed = _suppressed_clause(sql, send, data_extension, params)
    params.append(data_extension.id)
    statement = (
        f'INSERT INTO {records} (send_id, subscriber_key, email, "values", status, attempts, '  # noqa: S608 (names from model meta)
        "error, open_count, click_count) "
        f"SELECT %s, {key}, {email}, {values}, %s, 0, '', 0, 0 FROM {rows} r "
        f"WHERE NOT {suppressed} AND r.data_extension_id = %s ORDER BY r.id "
        "ON CONFLICT (send_id, subscriber_key) DO NOTHING"
    )
    # Parameters were appended in the order their placeholders appear in the statement.
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return int(cursor.rowcount)


def _mark_invalid_addresses(send: Send) -> int:
    """Records whose address cannot receive mail become `failed`, with the reason."""
    failed = []
    for record_id, address in (
        SendRecord.objects.filter(send=send, status=RecordStatus.QUEUED)
        .values_list("id", "email")
        .iterator(chunk_size=20000)
    ):
        problem = address_problem(address)
        if problem:
            failed.append(SendRecord(id=record_id, status=RecordStatus.FAILED, error=problem))
    SendRecord.objects.bulk_update(failed, ["status", "error"], batch_size=1000)
    return len(failed)
