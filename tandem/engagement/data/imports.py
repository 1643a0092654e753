"""The CSV import service of a data extension: RFC 4180 via the csv module, UTF-8, checked per row.

A problem with the whole file (too big, not UTF-8, a header that does not match) is raised
before anything is stored. A bad row is recorded with its line and reason and never stops the
good rows, which are written in batches with bulk_create.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO

from celery import current_app
from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import (
    DataExtension,
    DataExtensionField,
    DataExtensionRow,
    DataImport,
    DataImportError,
    ImportMode,
    ImportStatus,
)
from tandem.engagement.data.services import DataExtensionError, check_writable
from tandem.engagement.data.values import cell_normalize, row_key

BATCH_SIZE = 2_000
RAW_CHARS = 300
Progress = Callable[[int, int], None]
# RFC 4180 allows long quoted fields; the csv module's default limit is 128 KiB.
csv.field_size_limit(1024 * 1024)


class ImportFileError(Exception):
    """The file as a whole cannot be imported; nothing was changed."""


def import_max_bytes() -> int:
    """The size cap for one import file."""
    return int(settings.ENGAGEMENT_IMPORT_MAX_BYTES)


def _human(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{megabytes:,.0f} MB" if megabytes >= 10 else f"{megabytes:,.1f} MB"


def import_size_check(size: int) -> None:
    """Refuse a file above the cap, before reading it."""
    limit = import_max_bytes()
    if size > limit:
        raise ImportFileError(
            f"The file is {_human(size)}; imports are limited to {_human(limit)}. "
            "Split it into smaller files."
        )


def _records(binary: IO[bytes]) -> Iterator[tuple[int, list[str] | str]]:
    """(line, cells) per CSV record, or (line, message) for a record the parser rejects.

    A decoding error is raised as ImportFileError (the whole file is not UTF-8)."""
    text = io.TextIOWrapper(binary, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.reader(text, strict=False)
    try:
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield reader.line_num, f"not valid CSV: {exc}"
                continue
            except UnicodeDecodeError as exc:
                byte = exc.object[exc.start : exc.start + 1].hex().upper()
                raise ImportFileError(
                    f"The file is not UTF-8 text (byte 0x{byte} near line "
                    f"{reader.line_num + 1}). Save it as UTF-8 (CSV UTF-8) and import it again."
                ) from None
            yield reader.line_num, cells
    finally:
        # The caller owns the binary file: leave it open (unless it is closed already).
        with contextlib.suppress(ValueError):
            text.detach()


@dataclass(frozen=True)
class Layout:
    """How the file's columns map onto the data extension's fields."""

    header: list[str]
    columns: list[DataExtensionField]
    primary_key: list[str]


def _layout(data_extension: DataExtension, header: list[str]) -> Layout:
    fields = list(data_extension.fields.all())
    by_name = {field.name.casefold(): field for field in fields}
    header = [name.strip() for name in header]
    if not any(header):
        raise ImportFileError("The first line must name the columns (the header row).")
    columns: list[DataExtensionField] = []
    for position, name in enumerate(header, start=1):
        if not name:
            raise ImportFileError(f"Column {position} of the header has no name.")
        field = by_name.get(name.casefold())
        if field is None:
            known = ", ".join(f.name for f in fields)
            raise ImportFileError(
                f"Column {name!r} is not a field of {data_extension.name!r} (its fields: {known})."
            )
        if field in columns:
            raise ImportFileError(f"Column {name!r} appears twice in the header.")
        columns.append(field)
    missing = [f.name for f in fields if (f.is_primary_key or f.is_required) and f not in columns]
    if missing:
        raise ImportFileError(f"Required column(s) missing from the header: {', '.join(missing)}.")
    primary_key = [field.name for field in fields if field.is_primary_key]
    return Layout(header, columns, primary_key)


def _check_utf8(binary: IO[bytes]) -> None:
    """Raise ImportFileError naming the line and byte of the first invalid UTF-8 sequence."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    offset, line = 0, 1
    while chunk := binary.read(1 << 20):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as exc:
            pending = len(exc.object) - len(chunk)  # bytes held over from the last chunk
            position = offset - pending + exc.start
            line += exc.object.count(b"\n", pending, exc.start) if exc.start > pending else 0
            raise ImportFileError(
                f"The file is not UTF-8 text: byte {position + 1} (line {line}) is "
                f"0x{exc.object[exc.start]:02X}. Save it as UTF-8 (CSV UTF-8) and import it again."
            ) from None
        offset += len(chunk)
        line += chunk.count(b"\n")
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        raise ImportFileError(
            "The file is not UTF-8 text: it ends in the middle of a character."
        ) from None
    binary.seek(0)


def _scan(data_extension: DataExtension, binary: IO[bytes]) -> tuple[Layout, int]:
    """Check the encoding and the header of the whole file; count its data records."""
    _check_utf8(binary)
    records = _records(binary)
    first = next(records, None)
    if first is None or isinstance(first[1], str):
        raise ImportFileError("The file is empty or its header row is not valid CSV.")
    layout = _layout(data_extension, first[1])
    total = sum(1 for _ in records)
    return layout, total


RUN_TASK = "engagement.data.data_import_run"


def data_import_queue(*, data_import: DataImport) -> None:
    """Have a worker run the import once the transaction that created it commits."""
    # By name through the app's registry: the task module is an edge this service never imports.
    transaction.on_commit(lambda: current_app.tasks[RUN_TASK].delay(data_import.pk))


@transaction.atomic
def data_import_create(
    *,
    actor: User | None,
    data_extension: DataExtension,
    source_name: str,
    data: File[bytes],
    mode: str = ImportMode.ADD_AND_UPDATE,
) -> DataImport:
    """Check the file as a whole, keep a copy and record a queued import (run it next)."""
    if actor is not None and actor.account_id != data_extension.account_id:
        raise ImportFileError("That data extension does not exist.")
    if mode not in ImportMode.values:
        raise ImportFileError(f"Unknown import mode {mode!r}.")
    try:
        check_writable(data_extension)
    except DataExtensionError as exc:
        raise ImportFileError(str(exc)) from exc
    size = data.size or 0
    import_size_check(size)
    data.seek(0)
    _, total = _scan(data_extension, data)
    data.seek(0)
    key = f"imports/{data_extension.account_id}/{uuid.uuid4().hex}.csv"
    blob = default_storage.save(key, data)
    try:
        return DataImport.objects.create(
            data_extension=data_extension,
            created_by=actor,
            source_name=source_name[:255],
            source_blob=blob,
            size=size,
            mode=mode,
            total_rows=total,
        )
    except BaseException:
        default_storage.delete(blob)
        raise


def data_import_claim(*, data_import_id: int, resume: bool = False) -> bool:
    """Mark a queued import running (or, with resume, one left running by a crash)."""
    states = [ImportStatus.QUEUED, ImportStatus.RUNNING] if resume else [ImportStatus.QUEUED]
    claimed = DataImport.objects.filter(pk=data_import_id, status__in=states).update(
        status=ImportStatus.RUNNING, started_at=timezone.now()
    )
    return claimed == 1


def data_import_run(
    *, data_import_id: int, on_progress: Progress | None = None, resume: bool = False
) -> DataImport | None:
    """Import the rows of a claimed import in batches; None when someone else has it."""
    if not data_import_claim(data_import_id=data_import_id, resume=resume):
        return None
    data_import = DataImport.objects.select_related("data_extension").get(pk=data_import_id)
    try:
        with default_storage.open(data_import.source_blob, "rb") as binary:
            _Importer(data_import, on_progress).run(binary)
    except ImportFileError as exc:
        _finish(data_import, ImportStatus.FAILED, str(exc))
        raise
    _finish(data_import, ImportStatus.DONE, "")
    default_storage.delete(data_import.source_blob)
    return data_import


def _finish(data_import: DataImport, status: str, failure: str) -> None:
    data_import.status, data_import.failure = status, failure
    data_import.finished_at = timezone.now()
    data_import.save(update_fields=["status", "failure", "finished_at"])


class _Importer:
    """One pass over the file: check each row, batch the good ones, record the bad ones."""

    def __init__(self, data_import: DataImport, on_progress: Progress | None) -> None:
        self.data_import = data_import
        self.data_extension = data_import.data_extension
        self.on_progress = on_progress
        self.add_only = data_import.mode == ImportMode.ADD_ONLY
        self.seen: dict[str, int] = {}
        self.existing: dict[str, int] = {}
        self.new_rows: list[tuple[str, dict[str, str]]] = []
        self.updates: dict[int, tuple[str, dict[str, str]]] = {}
        self.errors: list[DataImportError] = []

    def run(self, binary: IO[bytes]) -> None:
        records = _records(binary)
        first = next(records, None)
        if first is None or isinstance(first[1], str):
            raise ImportFileError("The file is empty or its header row is not valid CSV.")
        self.layout = _layout(self.data_extension, first[1])
        self.existing = dict(self.data_extension.rows.values_list("key", "id"))
        done = self.data_import.processed_rows
        for number, (line, cells) in enumerate(records, start=1):
            if number <= done:
                self._remember(cells, line)  # resumed: those rows are in already
                continue
            self._take(line, cells)
            if len(self.new_rows) + len(self.updates) + len(self.errors) >= BATCH_SIZE:
                self._flush(number)
        self._flush(self.data_import.total_rows)

    def _values(self, cells: list[str]) -> tuple[dict[str, str], list[str]]:
        values: dict[str, str] = {}
        problems: list[str] = []
        for field, cell in zip(self.layout.columns, cells, strict=True):
            try:
                values[field.name] = cell_normalize(field, cell)
            except ValueError as exc:
                problems.append(f"{field.name}: {exc}")
        return values, problems

    def _remember(self, cells: list[str] | str, line: int) -> None:
        if isinstance(cells, list) and len(cells) == len(self.layout.header):
            values, problems = self._values(cells)
            if not problems and self.layout.primary_key:
                with contextlib.suppress(ValueError):
                    self.seen.setdefault(row_key(self.layout.primary_key, values), line)

    def _take(self, line: int, cells: list[str] | str) -> None:
        if isinstance(cells, str):
            return self._reject(line, "", cells, "")
        width = len(self.layout.header)
        if len(cells) != width:
            if cells == [] or cells == [""]:
                return None  # a blank line carries no row
            message = f"has {len(cells)} values; the header has {width}"
            return self._reject(line, "", message, cells)
        values, problems = self._values(cells)
        key = ""
        if not problems:
            try:
                key = row_key(self.layout.primary_key, values)
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            return self._reject(line, "", "; ".join(problems), cells)
        if key in self.seen:
            message = f"duplicate key {key!r} (first on line {self.seen[key]})"
            return self._reject(line, key, message, cells)
        self.seen[key] = line
        if key in self.existing:
            if self.add_only:
                return self._reject(line, key, f"a row with key {key!r} already exists", cells)
            self.updates[self.existing[key]] = (key, values)
            return None
        self.new_rows.append((key, values))
        return None

    def _reject(self, line: int, key: str, message: str, cells: list[str] | str) -> None:
        raw = _as_csv(cells) if isinstance(cells, list) else ""
        self.errors.append(
            DataImportError(
                data_import=self.data_import,
                line=line,
                key=_printable(key[:255]),
                message=_printable(message),
                raw=_printable(raw[:RAW_CHARS]),
            )
        )

    def _flush(self, processed: int) -> None:
        """Write one batch and the progress together, so a crash loses nothing."""
        data_import = self.data_import
        with transaction.atomic():
            _insert_rows(self.data_extension.pk, self.new_rows)
            updated = self._apply_updates()
            DataImportError.objects.bulk_create(self.errors, batch_size=500)
            data_import.processed_rows = processed
            data_import.inserted_rows += len(self.new_rows)
            data_import.updated_rows += updated
            data_import.error_rows += len(self.errors)
            data_import.save(
                update_fields=["processed_rows", "inserted_rows", "updated_rows", "error_rows"]
            )
        self.new_rows, self.updates, self.errors = [], {}, []
        if self.on_progress is not None:
            self.on_progress(processed, data_import.total_rows)

    def _apply_updates(self) -> int:
        """Merge the file's columns into existing rows (columns it lacks keep their values),
        written as one upsert: much faster than bulk_update's CASE expressions."""
        if not self.updates:
            return 0
        old = dict(
            DataExtensionRow.objects.filter(pk__in=self.updates.keys()).values_list("pk", "values")
        )
        merged = [
            (key, {**old.get(pk, {}), **values}) for pk, (key, values) in self.updates.items()
        ]
        _insert_rows(self.data_extension.pk, merged, upsert=True)
        return len(merged)


def _insert_rows(
    data_extension_id: int, rows: list[tuple[str, dict[str, str]]], *, upsert: bool = False
) -> None:
    """Insert (or, with upsert, replace by key) rows with one executemany: the ORM's
    per-object work was most of the import time (bench/RESULTS.md, docs/adr/0200-*)."""
    if not rows:
        return
    meta = DataExtensionRow._meta
    quote = connection.ops.quote_name
    de_column, key_column, values_column = (
        quote(str(getattr(meta.get_field(name), "column", name)))
        for name in ("data_extension", "key", "values")
    )
    as_json = "%s::jsonb" if connection.vendor == "postgresql" else "%s"
    # Only quoted identifiers from the model's metadata are formatted in; values are parameters.
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({de_column}, {key_column}, {values_column}) "  # noqa: S608
        f"VALUES (%s, %s, {as_json})"
    )
    if upsert:
        sql += (
            f" ON CONFLICT ({de_column}, {key_column})"
            f" DO UPDATE SET {values_column} = excluded.{values_column}"
        )
    dumps = json.JSONEncoder(ensure_ascii=False).encode
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(data_extension_id, key, dumps(values)) for key, values in rows])


def _printable(text: str) -> str:
    """The report keeps a bad row's text; a NUL (which PostgreSQL cannot store) shows as U+FFFD."""
    return text.replace("\x00", "\ufffd")


def _as_csv(cells: list[str]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def data_import_error_report(*, data_import: DataImport) -> Iterator[list[str]]:
    """The rejected rows as CSV records: line, key, error, row."""
    yield ["line", "key", "error", "row"]
    for error in data_import.errors.order_by("line", "id").iterator(chunk_size=2_000):
        yield [str(error.line), error.key, error.message, error.raw]
