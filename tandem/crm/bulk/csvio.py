"""CSV as Bulk API 2.0 reads and writes it: RFC 4180 quoting, the job's column delimiter and
line ending, UTF-8 (a byte-order mark is allowed)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

DELIMITERS = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS = {"LF": "\n", "CRLF": "\r\n"}
BOM = b"\xef\xbb\xbf"
# Salesforce's largest text field (Long Text Area) holds 131,072 characters.
FIELD_LIMIT = 131_072


class CsvProblem(Exception):
    """The upload as a whole cannot be read (the job fails with InvalidBatch)."""


@dataclass(frozen=True)
class Table:
    header: list[str]
    rows: list[list[str]]


def decode(data: bytes) -> str:
    """The upload as text: UTF-8, or a CsvProblem naming where it stops being UTF-8."""
    if data.startswith(BOM):
        data = data[len(BOM) :]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CsvProblem(
            f"The CSV is not valid UTF-8 (byte {error.start}): upload UTF-8 encoded data"
        ) from None


def parse(data: bytes, delimiter: str) -> Table:
    """Header and rows of an upload; blank lines are skipped. Ragged rows, broken quoting and
    oversized fields are a CsvProblem with the line where they occur."""
    text = decode(data)
    csv.field_size_limit(FIELD_LIMIT)
    reader = csv.reader(
        io.StringIO(text, newline=""),
        delimiter=DELIMITERS[delimiter],
        quotechar='"',
        doublequote=True,
        strict=True,
    )
    rows: list[list[str]] = []
    header: list[str] | None = None
    try:
        for row in reader:
            if not row or row == [""]:
                continue
            if header is None:
                header = row
            elif len(row) != len(header):
                raise CsvProblem(
                    f"Row on line {reader.line_num} has {len(row)} columns, the header has "
                    f"{len(header)}"
                )
            else:
                rows.append(row)
    except csv.Error as error:
        raise CsvProblem(f"Invalid CSV on line {reader.line_num}: {error}") from None
    if header is None:
        raise CsvProblem("The CSV has no header row")
    return Table([name.strip() for name in header], rows)


def writer(delimiter: str, line_ending: str) -> tuple[io.StringIO, Any]:
    buffer = io.StringIO()
    out = csv.writer(
        buffer,
        delimiter=DELIMITERS[delimiter],
        lineterminator=LINE_ENDINGS[line_ending],
        quoting=csv.QUOTE_ALL,
    )
    return buffer, out


def lines(rows: Iterable[Sequence[Any]], delimiter: str) -> Iterator[str]:
    """Each row as one CSV line without its ending (fields may hold line breaks, quoted)."""
    buffer, out = writer(delimiter, "LF")
    for row in rows:
        out.writerow(row)
        yield buffer.getvalue()[:-1]
        buffer.seek(0)
        buffer.truncate()


def document(
    header: Sequence[str], rows: Iterable[Sequence[Any]], delimiter: str, line_ending: str
) -> str:
    """A whole CSV text, header first."""
    buffer, out = writer(delimiter, line_ending)
    out.writerow(header)
    out.writerows(rows)
    return buffer.getvalue()
