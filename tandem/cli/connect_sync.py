"""`tandem connect sync`: synchronized data sources (CRM objects copied into data extensions)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tandem.cli.connect import (
    AccountOption,
    AdminOption,
    JsonOption,
    account_named,
    admin_named,
    use_django,
)
from tandem.cli.errors import fail
from tandem.cli.style import emit_or_say, typer_app

if TYPE_CHECKING:
    from tandem.engagement.syncs.models import SyncSource

app = typer_app("Synchronized data sources: CRM objects kept in data extensions.")
console = Console(highlight=False)
ObjectOption = Annotated[str, typer.Option("--object", help="The CRM object, e.g. Contact.")]


def _source(account_name: str, object_name: str) -> SyncSource:
    from tandem.engagement.syncs.selectors import source_get

    account = account_named(account_name)
    found = source_get(account.pk, object_name)
    if found is None:
        fail(f"{account.name} has no synchronized data source for {object_name!r}")
    return found


def _print(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(rows))
        return
    table = Table(
        "Object",
        "Schedule",
        "State",
        "Outcome",
        "Last run",
        "Rows",
        "+",
        "~",
        "-",
        "Last error",
        "Backoff",
    )
    for row in rows:
        table.add_row(
            row["object"],
            row["schedule"],
            row["state"],
            row["outcome"],
            row["last_run_at"] or "never",
            str(row["rows"]),
            str(row["rows_added"]),
            str(row["rows_updated"]),
            str(row["rows_deleted"]),
            row["last_error"],
            _backoff(row),
        )
    console.print(table)


def _backoff(row: dict[str, Any]) -> str:
    """`3 failed; next after <time>` while a failing source waits for its next scheduled run."""
    if not row["next_attempt_at"]:
        return ""
    return f"{row['consecutive_failures']} failed; next after {row['next_attempt_at']}"


@app.command("setup")
def setup(
    account: AccountOption,
    admin: AdminOption,
    object_name: ObjectOption,
    fields: Annotated[str, typer.Option("--fields", help="Comma-separated CRM field names.")],
    schedule: Annotated[str, typer.Option(help="15m, 1h, 1d or manual.")] = "15m",
    as_json: JsonOption = False,
) -> None:
    """Set up (or change) the object's source and its <Object>_Salesforce data extension.

    Example: tandem connect sync setup --account "Acme Marketing" --admin eadmin
    --object Contact --fields Id,FirstName,LastName,Email
    """
    use_django()
    from tandem.engagement.syncs.errors import SyncError
    from tandem.engagement.syncs.selectors import source_row
    from tandem.engagement.syncs.setup import source_setup

    found = account_named(account)
    actor = admin_named(found, admin)
    try:
        source = source_setup(
            account=found,
            object_name=object_name,
            fields=fields.split(","),
            schedule=schedule,
            actor=actor,
        )
    except SyncError as exc:
        detail = "; ".join(f"{name}: {why}" for name, why in exc.fields.items())
        fail(f"{exc.message} {detail}".strip())
    _print([source_row(source)], as_json)


@app.command("run")
def run(account: AccountOption, object_name: ObjectOption, as_json: JsonOption = False) -> None:
    """Run the source now, even while it backs off after failures; exit 1 when the run failed.

    Example: tandem connect sync run --account "Acme Marketing" --object Contact --json
    """
    use_django()
    from tandem.engagement.syncs.run import source_run

    result = source_run(source_id=_source(account, object_name).pk)
    row = {
        "ran": result.ran,
        "outcome": result.outcome,
        "added": result.added,
        "updated": result.updated,
        "deleted": result.deleted,
        "message": result.message,
    }
    if as_json:
        console.print_json(json.dumps(row))
    else:
        console.print(
            f"{result.outcome}: {result.added} added, {result.updated} updated, "
            f"{result.deleted} deleted" + (f" ({result.message})" if result.message else "")
        )
    if result.outcome == "failed":
        raise typer.Exit(1)


@app.command("status")
def status(
    account: AccountOption,
    object_name: Annotated[str, typer.Option("--object", help="One object only.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Each source: schedule, state, last run, rows added/updated/deleted, last error, and
    the backoff of a failing source (failed runs in a row, when the schedule runs it again).

    Example: tandem connect sync status --account "Acme Marketing" --json
    """
    use_django()
    from tandem.engagement.syncs.selectors import source_row, sources_of

    if object_name:
        sources = [_source(account, object_name)]
    else:
        sources = list(sources_of(account_named(account).pk))
    _print([source_row(source) for source in sources], as_json)


def _pause(account: str, admin: str, object_name: str, paused: bool, as_json: bool) -> None:
    use_django()
    from tandem.engagement.syncs.selectors import source_row
    from tandem.engagement.syncs.setup import source_pause

    source = _source(account, object_name)
    actor = admin_named(source.account, admin)
    source = source_pause(source=source, paused=paused, actor=actor)
    _print([source_row(source)], as_json)


@app.command("pause")
def pause(
    account: AccountOption,
    admin: AdminOption,
    object_name: ObjectOption,
    as_json: JsonOption = False,
) -> None:
    """Stop the source's scheduled runs (it catches up when resumed); audited.

    Example: tandem connect sync pause --account "Acme Marketing" --admin eadmin --object Contact
    """
    _pause(account, admin, object_name, True, as_json)


@app.command("resume")
def resume(
    account: AccountOption,
    admin: AdminOption,
    object_name: ObjectOption,
    as_json: JsonOption = False,
) -> None:
    """Run the source on its schedule again; audited.

    Example: tandem connect sync resume --account "Acme Marketing" --admin eadmin --object Contact
    """
    _pause(account, admin, object_name, False, as_json)


@app.command("remove")
def remove(
    account: AccountOption,
    admin: AdminOption,
    object_name: ObjectOption,
    as_json: JsonOption = False,
) -> None:
    """Remove the source, its <Object>_Salesforce data extension and its filters; audited.

    Example: tandem connect sync remove --account "Acme Marketing" --admin eadmin --object Contact
    """
    use_django()
    from tandem.engagement.syncs.errors import SyncError
    from tandem.engagement.syncs.remove import source_remove

    source = _source(account, object_name)
    actor = admin_named(source.account, admin)
    try:
        source_remove(source=source, actor=actor)
    except SyncError as exc:
        fail(exc.message)
    data = {"removed": source.de_name}
    emit_or_say(data, as_json, f"Removed {source.de_name}, its rows and its filters.")


@app.command("filter")
def filter_create(
    account: AccountOption,
    admin: AdminOption,
    object_name: ObjectOption,
    name: Annotated[str, typer.Option("--name", help="The filtered data extension's name.")],
    where: Annotated[
        list[str],
        typer.Option(
            "--where",
            help="`Field operator value`, e.g. `Email ends_with @a.test`; "
            "repeat for more (all must hold).",
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Save a filtered data extension over the object's synchronized one (a send audience);
    audited.

    Example: tandem connect sync filter --account "Acme Marketing" --admin eadmin
    --object Contact --name Gmail_Contacts --where "Email ends_with @gmail.com"
    """
    use_django()
    from tandem.engagement.syncs.errors import SyncError
    from tandem.engagement.syncs.filters import conditions_parse, filtered_create

    source = _source(account, object_name)
    actor = admin_named(source.account, admin)
    try:
        saved = filtered_create(
            account=source.account,
            name=name,
            source=source,
            conditions=conditions_parse("\n".join(where)),
            actor=actor,
        )
    except SyncError as exc:
        fail(exc.message)
    data = {"name": saved.name, "over": source.de_name, "conditions": where}
    emit_or_say(data, as_json, f"Saved {saved.name} over {source.de_name}.")
