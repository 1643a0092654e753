"""Import speed: a 100,000-row CSV into a data extension, the path `tandem de import` takes.

Run with `.venv/bin/python -m bench.imports`; it uses a throw-away var directory (SQLite unless
TANDEM_ENGAGEMENT_DATABASE_URL is set) and rewrites only its own section of bench/RESULTS.md.
"""

from __future__ import annotations

import csv
import io
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROWS = 100_000
RESULTS = Path(__file__).with_name("RESULTS.md")


def _markers(vendor: str) -> tuple[str, str]:
    """One section per database, so SQLite and PostgreSQL figures stand side by side."""
    return f"<!-- bench/imports {vendor}: begin -->", f"<!-- bench/imports {vendor}: end -->"


def _csv_bytes(rows: int, salt: str) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["SubscriberKey", "Email", "FirstName", "Age", "Joined", "Vip"])
    for i in range(rows):
        writer.writerow(
            [f"k{i}", f"user{i}@example.com", f"Name {i} {salt}", i % 90, "2024-01-02", i % 2]
        )
    return out.getvalue().encode()


def _timed_import(data_extension: object, data: bytes) -> tuple[float, float, object]:
    from django.core.files.base import File

    from tandem.engagement.data.imports import data_import_create, data_import_run

    started = time.perf_counter()
    created = data_import_create(
        actor=None,
        data_extension=data_extension,
        source_name="bench.csv",  # type: ignore[arg-type]
        data=File(io.BytesIO(data), name="bench.csv"),
    )
    checked = time.perf_counter()
    finished = data_import_run(data_import_id=created.pk)
    return checked - started, time.perf_counter() - started, finished


def _measure() -> list[tuple[str, str]]:
    from django.core.management import call_command
    from django.db import connection

    from tandem.engagement.accounts.services import account_create
    from tandem.engagement.data.exports import data_extension_export
    from tandem.engagement.data.services import FieldSpec, Sendable, data_extension_create

    call_command("migrate", verbosity=0)
    admin = account_create(name="Bench", admin_username="bench", admin_password="bench pass 12345")
    fields = [
        FieldSpec("SubscriberKey", "Text", is_primary_key=True),
        FieldSpec("Email", "EmailAddress", is_required=True),
        FieldSpec("FirstName"),
        FieldSpec("Age", "Number"),
        FieldSpec("Joined", "Date"),
        FieldSpec("Vip", "Boolean"),
    ]
    de = data_extension_create(
        actor=admin, name="Bench", fields=fields, sendable=Sendable(True, "SubscriberKey", "Email")
    )
    first = _csv_bytes(ROWS, "a")
    check_s, add_s, added = _timed_import(de, first)
    _, update_s, updated = _timed_import(de, _csv_bytes(ROWS, "b"))
    started = time.perf_counter()
    exported = sum(1 for _ in data_extension_export(data_extension=de)) - 1
    export_s = time.perf_counter() - started
    assert (added.inserted_rows, updated.updated_rows, exported) == (ROWS, ROWS, ROWS)  # type: ignore[attr-defined]
    return [
        (
            "database",
            f"{connection.vendor} ({connection.settings_dict['ENGINE'].rsplit('.', 1)[-1]})",
        ),
        ("file", f"{ROWS:,} rows x 6 typed columns, {len(first) / 1e6:.1f} MB"),
        ("whole-file check (UTF-8, header, count)", f"{check_s:.2f} s"),
        ("import, all rows new (check included)", f"{add_s:.2f} s = {ROWS / add_s:,.0f} rows/s"),
        (
            "import, all rows updating existing keys",
            f"{update_s:.2f} s = {ROWS / update_s:,.0f} rows/s",
        ),
        ("CSV export", f"{export_s:.2f} s = {ROWS / export_s:,.0f} rows/s"),
    ]


def _section(vendor: str, figures: list[tuple[str, str]]) -> str:
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    begin, end = _markers(vendor)
    load = os.getloadavg()[0]
    lines = [
        begin,
        f"## Data extension import, {vendor} (`python -m bench.imports`)",
        "",
        f"{when}, {os.cpu_count()} CPUs (load average {load:.1f} at the end: the machine is "
        f"shared), Python {platform.python_version()}. "
        "Same code path as `tandem de import` (check the whole file, then rows in batches of "
        "2,000, each one `executemany` INSERT; updates as INSERT ... ON CONFLICT DO UPDATE).",
        "",
        "| measure | result |",
        "|---|---|",
        *(f"| {name} | {value} |" for name, value in figures),
        end,
    ]
    return "\n".join(lines) + "\n"


def _write(vendor: str, section: str) -> None:
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n\n"
    begin, end = _markers(vendor)
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        text = head + section + rest.split(end, 1)[1].lstrip("\n")
    else:
        text = text.rstrip("\n") + "\n\n" + section
    RESULTS.write_text(text)


def main() -> int:
    """Measure in a throw-away var directory and record the figures."""
    with tempfile.TemporaryDirectory(prefix="tandem-bench-imports-") as var:
        os.environ.update(
            TANDEM_SERVICE="engagement",
            TANDEM_VAR_DIR=var,
            DJANGO_SETTINGS_MODULE="config.settings",
        )
        import django

        django.setup()
        from django.db import connection

        figures = _measure()
        vendor = connection.vendor
    section = _section(vendor, figures)
    _write(vendor, section)
    print(section)
    return 0


def run() -> str:
    """`make bench` entry: measure in a process of its own (Django settings are per process)."""
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "bench.imports"], env=env, cwd=root, check=True)
    return "CSV imports of 100,000 rows: see the per-database `bench/imports` sections."


if __name__ == "__main__":
    sys.exit(main())
