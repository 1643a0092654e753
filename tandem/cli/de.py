"""`tandem de`: data extensions of the Engagement service from the command line."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tandem.cli.django import use_service
from tandem.cli.engagement_accounts import account_by_ref
from tandem.cli.errors import fail
from tandem.cli.style import AccountOption, JsonOption, emit

if TYPE_CHECKING:
    from tandem.engagement.data.models import DataExtension, DataImport

app = typer.Typer(help="Data extensions of the Engagement service.", no_args_is_help=True)
console = Console(highlight=False)

ModeOption = Annotated[
    str,
    typer.Option(help="add_and_update (a known key updates its row) or add_only."),
]


def _setup_django() -> None:
    use_service("engagement")
    import django

    django.setup()


def _data_extension(account: str, name: str) -> DataExtension:
    """The named data extension of the named account, or a clear error."""
    from django.db import DatabaseError

    from tandem.engagement.data.selectors import data_extension_get_by_name

    try:
        found = account_by_ref(account)
    except DatabaseError:
        fail("The Engagement database is not ready: run `tandem engagement migrate` first.")
    if found is None:
        fail(f"No account {account!r} (give its id or name).")
    data_extension = data_extension_get_by_name(account_id=found.pk, name=name)
    if data_extension is None:
        fail(f"No data extension named {name!r} in account {found.name!r}.")
    return data_extension


@app.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(help="A CSV file (RFC 4180, UTF-8, header row).")],
    account: AccountOption,
    de: Annotated[str, typer.Option("--de", help="The data extension's name.")],
    mode: ModeOption = "add_and_update",
    report: Annotated[
        Path | None, typer.Option(help="Where to write rejected rows (default: FILE.errors.csv).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Import FILE into a data extension; exit code 2 when the file or any row is refused.

    Example: tandem de import subscribers.csv --account Acme --de Subscribers
    """
    if not file.is_file():
        fail(f"{file}: no such file.")
    _setup_django()
    from django.core.files import File

    from tandem.engagement.data.imports import (
        ImportFileError,
        data_import_create,
        data_import_run,
        import_size_check,
    )

    data_extension = _data_extension(account, de)
    try:
        import_size_check(file.stat().st_size)
        with file.open("rb") as handle:
            created = data_import_create(
                actor=None,
                data_extension=data_extension,
                source_name=file.name,
                data=File(handle, name=file.name),
                mode=mode,
            )
    except ImportFileError as exc:
        fail(f"{file}: {exc} Nothing was imported.")
    finished = _run_with_progress(created, data_import_run)
    _summarize(finished, report or file.with_name(file.name + ".errors.csv"), as_json)


@app.command("resume")
def resume(
    import_id: Annotated[int, typer.Argument(help="The import's number (shown by import).")],
    report: Annotated[
        Path | None,
        typer.Option(help="Where to write rejected rows (default: ./import-ID.errors.csv)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Finish an import that a crash left running: it continues after its last saved batch.

    Example: tandem de resume 7
    """
    _setup_django()
    from tandem.engagement.data.imports import data_import_run
    from tandem.engagement.data.models import DataImport, ImportStatus

    found = DataImport.objects.filter(pk=import_id).first()
    if found is None:
        fail(f"No import {import_id}.")
    if found.status not in {ImportStatus.QUEUED, ImportStatus.RUNNING}:
        fail(f"Import {import_id} is {found.get_status_display().lower()}: nothing to resume.")
    finished = _run_with_progress(found, data_import_run, resume=True)
    _summarize(finished, report or Path(f"import-{import_id}.errors.csv"), as_json)


def _run_with_progress(
    created: DataImport, run: Callable[..., DataImport | None], *, resume: bool = False
) -> DataImport:
    columns = (
        TextColumn("[bold]Importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("import", total=created.total_rows)
        finished = run(
            data_import_id=created.pk,
            resume=resume,
            on_progress=lambda done, total: progress.update(task, completed=done, total=total),
        )
    if finished is None:
        fail(f"Import {created.pk} is already being run by another process.")
    return finished


def _summarize(finished: DataImport, report: Path, as_json: bool) -> None:
    from tandem.engagement.data.imports import data_import_error_report

    if as_json:
        emit(
            {
                "import_id": finished.pk,
                "added": finished.inserted_rows,
                "updated": finished.updated_rows,
                "rejected": finished.error_rows,
                "report": str(report) if finished.error_rows else None,
            },
            as_json=True,
        )
    else:
        console.print(
            f"{_rows(finished.inserted_rows)} added, {finished.updated_rows} updated, "
            f"{finished.error_rows} rejected (import {finished.pk})."
        )
    if not finished.error_rows:
        return
    with report.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(data_import_error_report(data_import=finished))
    fail(
        f"{_rows(finished.error_rows)} rejected; the good rows were imported. "
        f"Why each was rejected: {report}"
    )


def _rows(count: int) -> str:
    return f"{count} row" if count == 1 else f"{count} rows"
