"""Copy a send's audience into one send record per subscriber before anything is sent."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.sends.models import RecordStatus, Send, SendRecord, Suppression

READ_CHUNK = 5000
WRITE_CHUNK = 2000
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


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _rows(data_extension: DataExtension) -> Iterator[tuple[str, Mapping[str, object]]]:
    """Every row in id order, read with keyset pagination."""
    last = 0
    while True:
        chunk = list(
            DataExtensionRow.objects.filter(data_extension=data_extension, id__gt=last)
            .order_by("id")
            .values_list("id", "key", "values")[:READ_CHUNK]
        )
        if not chunk:
            return
        for _row_id, key, values in chunk:
            yield key, values if isinstance(values, dict) else {}
        last = chunk[-1][0]


def snapshot_audience(*, send: Send, fields: Iterable[str]) -> SnapshotSummary:
    """Write the send records of `send`'s data extension; keep only the `fields` it renders."""
    data_extension = send.data_extension
    assert data_extension is not None
    wanted = {name.casefold() for name in fields}
    suppressed_keys = set(
        Suppression.objects.filter(account_id=send.account_id).values_list(
            "subscriber_key", flat=True
        )
    )
    seen: set[str] = set()
    buffer: list[SendRecord] = []
    rows = duplicates = suppressed = invalid = records = 0
    for key, values in _rows(data_extension):
        rows += 1
        subscriber_key = _subscriber_key(data_extension, key, values)
        if subscriber_key in seen:
            duplicates += 1
            continue
        seen.add(subscriber_key)
        if subscriber_key in suppressed_keys:
            suppressed += 1
            continue
        record = _record(send, data_extension, subscriber_key, values, wanted)
        invalid += record.status == RecordStatus.FAILED
        buffer.append(record)
        if len(buffer) >= WRITE_CHUNK:
            records += _flush(buffer)
    records += _flush(buffer)
    return SnapshotSummary(rows, records, duplicates, suppressed, invalid)


def _subscriber_key(data_extension: DataExtension, key: str, values: Mapping[str, object]) -> str:
    field = data_extension.subscriber_key_field
    found = _text(values.get(field)).strip() if field else ""
    return (found or key)[:255]


def _record(
    send: Send,
    data_extension: DataExtension,
    subscriber_key: str,
    values: Mapping[str, object],
    wanted: set[str],
) -> SendRecord:
    address = _text(values.get(data_extension.email_field)).strip()
    problem = address_problem(address)
    kept = {name: _text(value) for name, value in values.items() if name.casefold() in wanted}
    return SendRecord(
        send=send,
        subscriber_key=subscriber_key,
        email=address[:254],
        values=kept,
        status=RecordStatus.FAILED if problem else RecordStatus.QUEUED,
        error=problem,
    )


def _flush(buffer: list[SendRecord]) -> int:
    count = len(buffer)
    if buffer:
        SendRecord.objects.bulk_create(buffer, batch_size=WRITE_CHUNK)
        buffer.clear()
    return count
