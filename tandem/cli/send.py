"""`tandem send`: create, start and follow sends from the command line."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tandem.cli.django import use_service
from tandem.cli.engagement_accounts import account_by_ref
from tandem.cli.errors import fail
from tandem.cli.style import JsonOption, emit_or_say

if TYPE_CHECKING:
    from tandem.engagement.accounts.models import Account
    from tandem.engagement.sends.models import Send

app = typer.Typer(help="Sends of the Engagement service.", no_args_is_help=True)
console = Console(highlight=False)
CLI_ACTOR = "tandem command"

SendId = Annotated[int, typer.Argument(help="The send's id (printed by `tandem send create`).")]


def _django() -> None:
    use_service("engagement")
    import django

    django.setup()


def _account(name: str | None) -> Account:
    from tandem.engagement.accounts.models import Account

    if name is None:
        accounts = list(Account.objects.all()[:2])
        if len(accounts) != 1:
            fail("name the account with --account (there is not exactly one)")
        return accounts[0]
    found = account_by_ref(name)
    if found is None:
        fail(f"there is no account {name!r} (give its id or name)")
    return found


def _send(send_id: int) -> Send:
    from tandem.engagement.sends.errors import SendNotFoundError
    from tandem.engagement.sends.selectors import send_get

    try:
        return send_get(send_id=send_id)
    except SendNotFoundError as exc:
        fail(str(exc))


def _call(function: Any, **kwargs: Any) -> Any:
    from tandem.engagement.sends.errors import SendError

    try:
        return function(**kwargs)
    except SendError as exc:
        fail(exc.message)


# Each CRM audience option, the kind it names (values of sends.models.AudienceKind).
CRM_OPTIONS = {
    "--report": "report",
    "--campaign": "campaign",
    "--contacts": "contact",
    "--leads": "lead",
    "--sfde": "salesforce_data_extension",
    "--synced": "synchronized_data_extension",
}


@app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="Name of the email to send.")],
    data_extension: Annotated[
        str | None, typer.Option("--de", help="Name of the sendable data extension.")
    ] = None,
    report: Annotated[
        str | None, typer.Option("--report", help="Id of a CRM report (00O…).")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option("--campaign", help="Id of a CRM campaign (701…).")
    ] = None,
    contacts: Annotated[
        str | None,
        typer.Option("--contacts", help="CRM Contact Ids (003…), separated by commas or spaces."),
    ] = None,
    leads: Annotated[
        str | None,
        typer.Option("--leads", help="CRM Lead Ids (00Q…), separated by commas or spaces."),
    ] = None,
    sfde: Annotated[
        str | None, typer.Option("--sfde", help="Name of a Salesforce data extension.")
    ] = None,
    synced: Annotated[
        str | None,
        typer.Option("--synced", help="Name of a synchronized or filtered data extension."),
    ] = None,
    name: Annotated[
        str | None, typer.Option(help="Name of the send (default: the email's).")
    ] = None,
    account: Annotated[
        str | None,
        typer.Option(
            help="The Engagement account: its id or name (needed when there are several)."
        ),
    ] = None,
    rate: Annotated[
        int | None,
        typer.Option(help="At most this many messages a second, across all workers."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a draft send to one audience (--de, --report, --campaign, --contacts, --leads or
    --sfde); prints its id. CRM audiences need Marketing Cloud Connect.

    Example: tandem send create --account Acme --email Welcome --de Subscribers --rate 50
    """
    given = {
        option: value
        for option, value in zip(
            ("--de", *CRM_OPTIONS),
            (data_extension, report, campaign, contacts, leads, sfde, synced),
            strict=True,
        )
        if value is not None
    }
    if len(given) != 1:
        fail(f"give exactly one audience: {', '.join(('--de', *CRM_OPTIONS))}")
    [(option, value)] = given.items()
    _django()
    from tandem.engagement.sends.services import send_create
    from tandem.engagement.studio.models import Email

    owner = _account(account)
    chosen_email = Email.objects.filter(account=owner, name=email).first()
    if chosen_email is None:
        fail(f"there is no email named {email!r} in {owner.name!r}")
    send = _call(
        send_create,
        actor=None,
        actor_label=CLI_ACTOR,
        account=owner,
        name=name or chosen_email.name,
        email=chosen_email,
        max_per_second=rate,
        **_audience(owner, option, value),
    )
    emit_or_say({"id": send.id, "status": send.status}, as_json, str(send.id))


def _audience(owner: Account, option: str, value: str) -> dict[str, Any]:
    """send_create's audience arguments for one audience option; exits 2 when it is wrong."""
    from tandem.engagement.data.models import DataExtension
    from tandem.engagement.sends.audiences import crm_audience_clean
    from tandem.engagement.sends.errors import SendError

    if option == "--de":
        audience = DataExtension.objects.filter(account=owner, name=value).first()
        if audience is None:
            fail(f"there is no data extension named {value!r} in {owner.name!r}")
        return {"data_extension": audience}
    kind = CRM_OPTIONS[option]
    try:
        ref = crm_audience_clean(account_id=owner.pk, kind=kind, ref=value)
    except SendError as exc:
        fail(f"{option}: {exc.message}")
    return {"audience_kind": kind, "audience_ref": ref}


@app.command("start")
def start(
    send_id: SendId,
    at: Annotated[
        str | None, typer.Option(help="Start at this ISO 8601 time (default: now).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Start a draft send now, or schedule it.

    Example: tandem send start 12 --at 2030-01-31T09:00Z
    """
    _django()
    from django.utils import timezone

    from tandem.engagement.sends.services import send_schedule

    when = None
    if at is not None:
        try:
            when = datetime.fromisoformat(at)
        except ValueError:
            fail(f"--at {at!r} is not an ISO 8601 time such as 2030-01-31T09:00Z")
        if timezone.is_naive(when):
            when = timezone.make_aware(when, UTC)
    send = _call(send_schedule, actor=None, actor_label=CLI_ACTOR, send=_send(send_id), at=when)
    emit_or_say(
        {"id": send.id, "status": send.status, "scheduled_at": send.scheduled_at},
        as_json,
        f"Send {send.id} scheduled for {send.scheduled_at:%Y-%m-%d %H:%M:%S} UTC.",
    )


def _status(send_id: int) -> dict[str, Any]:
    from tandem.engagement.sends.selectors import send_progress

    send = _send(send_id)
    progress = send_progress(send=send)
    return {
        "id": send.id,
        "name": send.name,
        "status": send.status,
        "failure_reason": send.failure_reason,
        **asdict(progress),
        "remaining": progress.remaining,
        "is_final": send.is_final,
    }


def _print_status(data: dict[str, Any]) -> None:
    table = Table("send", "status", "sent", "bounced", "failed", "unknown", "remaining", "total")
    table.add_row(
        f"{data['id']} {data['name']}",
        data["status"],
        str(data["sent"]),
        str(data["bounced"]),
        str(data["failed"]),
        str(data["unknown"]),
        str(data["remaining"]),
        str(data["total"]),
    )
    console.print(table)
    if data["failure_reason"]:
        console.print(f"[red]{data['failure_reason']}[/]")
    if data["unknown"]:
        console.print(
            f"{data['unknown']} recipients have an unknown outcome (a worker stopped while "
            "sending to them); they are not resent automatically."
        )


@app.command("status")
def status(
    send_id: SendId,
    as_json: JsonOption = False,
    watch: Annotated[bool, typer.Option(help="Show a progress bar until the send ends.")] = False,
) -> None:
    """Show how far a send is: sent, failed, remaining.

    Example: tandem send status 12 --watch
    """
    _django()
    if watch:
        _watch(send_id)
    data = _status(send_id)
    if as_json:
        print(json.dumps(data))
    else:
        _print_status(data)


def _watch(send_id: int) -> None:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as bar:
        task = bar.add_task("sending", total=None)
        while True:
            data = _status(send_id)
            done = data["total"] - data["remaining"]
            bar.update(
                task, total=data["total"] or None, completed=done, description=data["status"]
            )
            if data["is_final"] or data["status"] in ("paused", "held", "draft"):
                return
            time.sleep(1)


def _transition(service_name: str, send_id: int, as_json: bool) -> None:
    _django()
    from tandem.engagement.sends import services

    send = _call(
        getattr(services, service_name), actor=None, actor_label=CLI_ACTOR, send=_send(send_id)
    )
    emit_or_say(
        {"id": send.id, "status": send.status},
        as_json,
        f"Send {send.id} is {send.get_status_display().lower()}.",
    )


@app.command("pause")
def pause(send_id: SendId, as_json: JsonOption = False) -> None:
    """Pause a running send.

    Example: tandem send pause 12
    """
    _transition("send_pause", send_id, as_json)


@app.command("resume")
def resume(send_id: SendId, as_json: JsonOption = False) -> None:
    """Resume a paused send.

    Example: tandem send resume 12
    """
    _transition("send_resume", send_id, as_json)


@app.command("cancel")
def cancel(send_id: SendId, as_json: JsonOption = False) -> None:
    """Cancel a send for good.

    Example: tandem send cancel 12
    """
    _transition("send_cancel", send_id, as_json)


@app.command("test")
def send_test(
    send_id: SendId,
    to: Annotated[
        list[str], typer.Option("--to", help="An address to send the test to (up to 5).")
    ],
    row: Annotated[
        str | None,
        typer.Option(help="Key of the audience row to personalize as (default: the first)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Send a send's email now to up to 5 addresses, marked as a test.

    Example: tandem send test 12 --to you@example.com --row 42
    """
    _django()
    from tandem.engagement.sends.selectors import send_progress
    from tandem.engagement.sends.services import send_test_of_send

    send = _call(
        send_test_of_send,
        actor=None,
        actor_label=CLI_ACTOR,
        send=_send(send_id),
        addresses=to,
        row_key=row,
    )
    progress = send_progress(send=send)
    refused = [
        {"email": r.email, "status": r.get_status_display(), "error": r.error}
        for r in send.records.exclude(status="sent")
    ]
    if as_json:
        emit_or_say(
            {"id": send.id, "sent": progress.sent, "total": progress.total, "refused": refused},
            True,
            "",
        )
    else:
        console.print(
            f"Test send {send.id}: {progress.sent} of {progress.total} accepted by the mail server."
        )
        for record in refused:
            console.print(f"[red]{record['email']}: {record['status']} {record['error']}[/]")
    if progress.sent != progress.total:
        raise typer.Exit(1)
