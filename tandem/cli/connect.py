"""`tandem connect`: Marketing Cloud Connect and its upgrade, from the command line."""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from tandem.cli.django import use_service
from tandem.cli.engagement_accounts import account_by_ref
from tandem.cli.errors import fail
from tandem.cli.mc_keys import local_mc_env_setdefault
from tandem.cli.style import AccountOption, JsonOption, emit_or_say
from tandem.core.paths import var_dir

if TYPE_CHECKING:
    from tandem.engagement.accounts.models import Account, User
    from tandem.engagement.connect.models import CrmConnection

app = typer.Typer(help="Marketing Cloud Connect (the CRM integration).", no_args_is_help=True)
console = Console(highlight=False)

AdminOption = Annotated[str, typer.Option("--admin", help="The acting Administrator's username.")]


def use_django() -> None:
    local_mc_env_setdefault(var_dir() / "connect")  # the keys `tandem up` made, when not given
    use_service("engagement")
    import django

    django.setup()


def account_named(name: str) -> Account:
    found = account_by_ref(name)
    if found is None:
        fail(f"there is no account named {name!r}")
    return found


def admin_named(account: Account, username: str) -> User:
    user = account.users.filter(username=username).first()
    if user is None or not user.is_account_admin:
        fail(f"{username!r} is not an Administrator of {account.name}")
    return user


def _connection(account: Account) -> CrmConnection:
    from tandem.engagement.connect.selectors import crm_connection_get

    connection = crm_connection_get(account=account)
    if connection is None:
        fail(f"{account.name} is not connected to a CRM (tandem connect connect-legacy)")
    return connection


def _call(function: Any, **kwargs: Any) -> Any:
    from tandem.engagement.connect.errors import ConnectError

    try:
        return function(**kwargs)
    except ConnectError as exc:
        fail(exc.message)


def _secret(value: str | None, variable: str, prompt: str) -> str:
    return value or os.environ.get(variable) or typer.prompt(prompt, hide_input=True)


def _status(connection: CrmConnection) -> dict[str, Any]:
    from tandem.engagement.connect.selectors import connected_user_list, days_left

    users = connected_user_list(account=connection.account)
    return {
        "account": connection.account.name,
        "state": connection.state,
        "login_url": connection.login_url,
        "instance_url": connection.instance_url,
        "org_id": connection.org_id,
        "my_domain": connection.my_domain,
        "system_username": connection.system_username,
        "upgraded_at": connection.upgraded_at.isoformat() if connection.upgraded_at else None,
        "auto_connection_days_left": days_left(connection),
        "legacy_credentials_held": bool(connection.legacy_secret),
        "crm_api_usage": [connection.crm_api_used, connection.crm_api_max],
        "users": [
            {
                "engagement_username": u.user.get_username(),
                "crm_username": u.crm_username,
                "state": u.state,
                "error_code": u.last_error_code,
                "error_message": u.last_error_message,
            }
            for u in users
        ],
    }


def _print_status(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        console.print_json(json.dumps(data))
        return
    for key in (
        "account",
        "state",
        "org_id",
        "instance_url",
        "system_username",
        "auto_connection_days_left",
    ):
        console.print(f"{key:26} {data[key]}")
    table = Table("Engagement user", "CRM username", "State", "Error")
    for user in data["users"]:
        table.add_row(
            user["engagement_username"],
            user["crm_username"],
            user["state"],
            f"{user['error_code']} {user['error_message']}".strip(),
        )
    console.print(table)


@app.command("status")
def status(account: AccountOption, as_json: JsonOption = False) -> None:
    """Mode, org, system user, connected users and days left.

    Example: tandem connect status --account "Acme Marketing" --json
    """
    use_django()
    _print_status(_status(_connection(account_named(account))), as_json)


@app.command("connect-legacy")
def connect_legacy(
    account: AccountOption,
    admin: AdminOption,
    login_url: Annotated[str, typer.Option(help="The CRM login URL.")],
    username: Annotated[str, typer.Option(help="The CRM system user's username.")],
    password: Annotated[str | None, typer.Option(help="Or TANDEM_CRM_PASSWORD.")] = None,
    security_token: Annotated[str, typer.Option(help="Or TANDEM_CRM_SECURITY_TOKEN.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Connect the account with the system user's password and security token (legacy).

    Example: tandem connect connect-legacy --account "Acme Marketing" --admin eadmin --login-url http://localhost:8001
    --username mc-system@acme.demo
    """
    use_django()
    from tandem.engagement.connect.services import connection_legacy_connect

    found = account_named(account)
    connection = _call(
        connection_legacy_connect,
        actor=admin_named(found, admin),
        account=found,
        login_url=login_url,
        username=username,
        password=_secret(password, "TANDEM_CRM_PASSWORD", "CRM password"),
        security_token=security_token or os.environ.get("TANDEM_CRM_SECURITY_TOKEN", ""),
    )
    emit_or_say(
        {"account": found.name, "org_id": connection.org_id, "state": connection.state},
        as_json,
        f"Connected {found.name} to org {connection.org_id} (legacy).",
    )


@app.command("map-user")
def map_user(
    account: AccountOption,
    admin: AdminOption,
    user: Annotated[str, typer.Option(help="The Engagement username.")],
    crm_username: Annotated[str, typer.Option(help="The CRM username.")],
    password: Annotated[
        str | None, typer.Option(help="Legacy only; or TANDEM_CRM_PASSWORD.")
    ] = None,
    security_token: Annotated[str, typer.Option(help="Legacy only.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Integrate for Salesforce.com Status: map an Engagement user to a CRM username.

    Example: tandem connect map-user --account Acme --admin eadmin --user emina
    --crm-username mina@acme.demo
    """
    use_django()
    from tandem.engagement.connect.models import ConnectionState
    from tandem.engagement.connect.services import connected_user_map

    found = account_named(account)
    connection = _connection(found)
    member = found.users.filter(username=user).first()
    if member is None:
        fail(f"there is no user {user!r} in {found.name}")
    legacy = connection.state == ConnectionState.LEGACY
    secret = _secret(password, "TANDEM_CRM_PASSWORD", "CRM password") if legacy else ""
    mapping = _call(
        connected_user_map,
        actor=admin_named(found, admin),
        connection=connection,
        user=member,
        crm_username=crm_username,
        password=secret,
        security_token=security_token,
    )
    emit_or_say(
        {"user": user, "crm_username": mapping.crm_username, "state": mapping.state},
        as_json,
        f"{user} ↔ {mapping.crm_username}: {mapping.get_state_display()}",
    )


@app.command("preflight")
def preflight(account: AccountOption, as_json: JsonOption = False) -> None:
    """For each user: will the connected app let Connect in, and why not.

    Example: tandem connect preflight --account "Acme Marketing"
    """
    use_django()
    from tandem.engagement.connect.selectors import preflight as run

    rows = run(connection=_connection(account_named(account)))
    if as_json:
        console.print_json(json.dumps([asdict(row) for row in rows]))
    else:
        table = Table("CRM username", "Engagement user", "Ready", "Reason")
        for row in rows:
            table.add_row(
                row.crm_username,
                row.engagement_username,
                "yes" if row.ready else "no",
                f"{row.error_code} {row.error_message}".strip(),
            )
        console.print(table)
    if not all(row.ready for row in rows):
        raise typer.Exit(1)


@app.command("upgrade")
def upgrade(
    account: AccountOption,
    admin: AdminOption,
    migrate_users: Annotated[bool, typer.Option(help="Migrate Existing Users.")] = True,
    erase_legacy_now: Annotated[bool, typer.Option(help="Erase legacy passwords now.")] = False,
    rollback_on_failure: Annotated[
        bool, typer.Option(help="If the CRM refuses, go back to legacy instead of waiting.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Upgrade to Connected App without a browser (the system user must be pre-authorized).

    If the CRM refuses, the account stays `upgrading` and one line says how to continue or
    roll back (exit 2); with --rollback-on-failure it goes back to legacy at once.

    Example: tandem connect upgrade --account "Acme Marketing" --admin eadmin
    """
    use_django()
    from tandem.engagement.connect import services
    from tandem.engagement.connect.errors import ConnectError

    found = account_named(account)
    actor = admin_named(found, admin)
    connection = _connection(found)
    try:
        if connection.state == "legacy":
            services.upgrade_begin(actor=actor, connection=connection, log_in_again=False)
            connection.refresh_from_db()
        connection = services.upgrade_verify_by_jwt(actor=actor, connection=connection)
        connection = services.upgrade_complete(
            actor=actor,
            connection=connection,
            migrate_users=migrate_users,
            erase_legacy_now=erase_legacy_now,
            migrate_here=True,
        )
    except ConnectError as exc:
        _upgrade_failed(found, actor, exc.message, rollback_on_failure)
    if not as_json:
        console.print(f"{found.name} uses Connected App authentication.")
    _print_status(_status(connection), as_json=as_json)


def _upgrade_failed(found: Account, actor: User, reason: str, rollback: bool) -> NoReturn:
    """One line: why, where the account is now, and the exact command to continue."""
    from tandem.engagement.connect import services
    from tandem.engagement.connect.errors import ConnectError

    connection = _connection(found)
    names = f"--account {shlex.quote(found.name)} --admin {shlex.quote(actor.get_username())}"
    reason = reason.rstrip(".")
    if connection.state == "upgrading" and rollback:
        try:
            services.upgrade_rollback(actor=actor, connection=connection)
        except ConnectError as exc:
            fail(f"{reason}; the rollback failed too: {exc.message}")
        fail(f"{reason}. Rolled back: {found.name} uses legacy authentication again.")
    if connection.state == "upgrading":
        fail(
            f"{reason}. {found.name} stays upgrading: fix the CRM side and run "
            f"`tandem connect upgrade {names}` again, or `tandem connect rollback {names}`."
        )
    if connection.state == "connected_app":
        fail(
            f"{reason}. {found.name} uses Connected App authentication; to retry the users, "
            f"run `tandem connect migrate-users {names}`."
        )
    fail(f"{reason}. {found.name} is still on legacy authentication; nothing changed.")


@app.command("migrate-users")
def migrate_users(
    account: AccountOption,
    admin: AdminOption,
    background: Annotated[
        bool, typer.Option("--background", help="Have the worker run it; print the run's id.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Migrate Existing Users again: every legacy user not reconnected yet.

    By default the run happens here and its results are printed; with --background the
    Engagement worker runs it (a run already under way is returned instead of a second one):
    follow it with `tandem connect migrate-status`.

    Example: tandem connect migrate-users --account "Acme Marketing" --admin eadmin --json
    """
    use_django()
    from tandem.engagement.connect.services.migration import migration_start, users_migrate

    found = account_named(account)
    start = migration_start if background else users_migrate
    run = _call(start, actor=admin_named(found, admin), connection=_connection(found))
    if background:
        emit_or_say(
            {"run": run.pk, "state": run.state, "total": run.total},
            as_json,
            f"Run {run.pk} is {run.state} ({run.total} users): "
            f"tandem connect migrate-status --run {run.pk}",
        )
        return
    if as_json:
        console.print_json(
            json.dumps(
                {
                    "run": run.pk,
                    "succeeded": run.succeeded,
                    "failed": run.failed,
                    "rows": run.rows,
                    "files": run.files,
                }
            )
        )
        return
    console.print(f"{run.succeeded} reconnected, {run.failed} failed.")
    for row in run.rows:
        if row["status"] == "failure":
            console.print(f"  {row['crm_username']}: {row['error_code']} {row['error_message']}")


@app.command("migrate-status")
def migrate_status(
    run: Annotated[int, typer.Option("--run", help="The run's id (migrate-users prints it).")],
    as_json: JsonOption = False,
) -> None:
    """How far a Migrate Existing Users run is: users tried of all, reconnected, failed.

    Example: tandem connect migrate-status --run 12 --json
    """
    use_django()
    from tandem.engagement.connect.models import MigrationRun
    from tandem.engagement.connect.selectors import migration_progress

    found = MigrationRun.objects.filter(pk=run).first()
    if found is None:
        fail(f"there is no migration run {run}")
    data = migration_progress(run=found)
    emit_or_say(
        data,
        as_json,
        f"Run {run} is {data['state']}: {data['processed']} of {data['total']} users tried, "
        f"{data['succeeded']} reconnected, {data['failed']} failed.",
    )


@app.command("rollback")
def rollback(account: AccountOption, admin: AdminOption, as_json: JsonOption = False) -> None:
    """Back to legacy authentication, while the legacy credentials are still held.

    Example: tandem connect rollback --account "Acme Marketing" --admin eadmin
    """
    use_django()
    from tandem.engagement.connect.services import upgrade_rollback

    found = account_named(account)
    connection = _call(
        upgrade_rollback, actor=admin_named(found, admin), connection=_connection(found)
    )
    emit_or_say(
        {"account": found.name, "state": connection.state},
        as_json,
        f"{found.name} uses legacy authentication again.",
    )


@app.command("outage")
def outage(
    account: AccountOption,
    admin: AdminOption,
    start: Annotated[str, typer.Option(help="ISO 8601 start, e.g. 2026-12-01T20:00Z.")],
    hours: Annotated[float, typer.Option(help="Duration in hours.")] = 2.0,
    as_json: JsonOption = False,
) -> None:
    """Schedule Outage: CRM-audience sends and syncs pause for its length.

    Example: tandem connect outage --account Acme --admin eadmin --start 2026-12-01T20:00Z
    """
    use_django()
    from datetime import UTC, datetime

    from tandem.engagement.connect.selectors import outage_activities
    from tandem.engagement.connect.services import outage_schedule

    try:
        starts_at = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--start: not an ISO 8601 time: {start!r}")
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=UTC)
    found = account_named(account)
    scheduled = _call(
        outage_schedule,
        actor=admin_named(found, admin),
        account=found,
        starts_at=starts_at,
        hours=hours,
    )
    inside = list(outage_activities(outage=scheduled))
    if as_json:
        emit_or_say(
            {
                "starts_at": scheduled.starts_at,
                "ends_at": scheduled.ends_at,
                "sends_inside": [
                    {"id": s.pk, "name": s.name, "scheduled_at": s.scheduled_at} for s in inside
                ],
            },
            True,
            "",
        )
        return
    console.print(f"Outage {scheduled.starts_at:%Y-%m-%d %H:%M} to {scheduled.ends_at:%H:%M} UTC.")
    for send in inside:
        console.print(f"  inside the window: send {send.pk} {send.name!r} at {send.scheduled_at}")


@app.command("hold")
def hold(
    account: AccountOption,
    admin: AdminOption,
    choice: Annotated[str, typer.Argument(metavar="on|off", help="Hold, or fail, such sends.")],
    as_json: JsonOption = False,
) -> None:
    """Hold CRM-audience sends while Connect is unavailable (on), or fail them (off).

    Held sends resume by themselves within a minute of the outage's end or the upgrade's.

    Example: tandem connect hold on --account "Acme Marketing" --admin eadmin
    """
    value = {"on": True, "off": False}.get(choice.strip().lower())
    if value is None:
        fail(f"hold: choose on or off, not {choice!r}")
    use_django()
    from tandem.engagement.connect.services import connection_options_update

    found = account_named(account)
    connection = _connection(found)
    connection_options_update(
        actor=admin_named(found, admin), connection=connection, hold_crm_sends=value
    )
    if as_json:
        console.print_json(json.dumps({"account": found.name, "hold_crm_sends": value}))
        return
    console.print(
        f"{found.name}: CRM-audience sends are "
        + ("held during an outage or the upgrade, then resumed." if value else "failed then.")
    )


@app.command("test-email")
def send_test_email(
    account: AccountOption,
    admin: AdminOption,
    email: Annotated[str, typer.Option("--email", help="The email's name or id.")],
    as_json: JsonOption = False,
) -> None:
    """Send Test Email through Connect to the admin's CRM address.

    Its IndividualEmailResult is written to the CRM, and later its opens and clicks.

    Example: tandem connect test-email --account "Acme Marketing" --admin eadmin --email Welcome
    """
    use_django()
    from tandem.engagement.connect.testmail import connect_test_email_send
    from tandem.engagement.studio.models import Email

    found = account_named(account)
    actor = admin_named(found, admin)
    connection = _connection(found)
    emails = Email.objects.filter(account=found)
    chosen = emails.filter(name=email).first()
    if chosen is None and email.strip().isdigit():
        chosen = emails.filter(pk=int(email)).first()
    if chosen is None:
        fail(f"there is no email {email!r} in {found.name}")
    result = _call(connect_test_email_send, actor=actor, connection=connection, email=chosen)
    data = {
        "address": result.address,
        "send": result.send.pk,
        "status": result.send.status,
        "tracking_id": result.tracking_id,
    }
    if as_json:
        console.print_json(json.dumps(data))
        return
    console.print(
        f"Test email sent to {result.address} (send {result.send.pk}); "
        f"IndividualEmailResult {result.tracking_id} written to the CRM."
    )


@app.command("usage")
def usage(
    account: AccountOption,
    days: Annotated[str, typer.Option(help="1 (today), 7 or 30 days.")] = "7",
    as_json: JsonOption = False,
) -> None:
    """API usage: calls to the CRM per day and per CRM user, and the CRM's allocation.

    Example: tandem connect usage --account "Acme Marketing" --days 30 --json
    """
    use_django()
    from tandem.engagement.connect.selectors import (
        USAGE_RANGES,
        api_usage_by_day,
        api_usage_by_family,
        api_usage_by_user,
        bulk_share,
    )

    if not days.strip().isdigit() or int(days) not in USAGE_RANGES:
        fail(f"--days: choose one of {', '.join(map(str, USAGE_RANGES))}, not {days!r}")
    span = int(days)
    found = account_named(account)
    connection = _connection(found)
    families = api_usage_by_family(account=found, days=span)
    data = {
        "account": found.name,
        "days": span,
        "by_day": [
            {"day": row.day.isoformat(), "calls": row.calls}
            for row in api_usage_by_day(account=found, days=span)
        ],
        "by_user": [
            {"crm_username": row.crm_username, "calls": row.calls}
            for row in api_usage_by_user(account=found, days=span)
        ],
        "by_family": [
            {"family": row.family, "calls": row.calls, "counts_against_limit": row.counted}
            for row in families
        ],
        "bulk_share": round(bulk_share(families), 4),
        "crm_allocation": {
            "used": connection.crm_api_used,
            "max": connection.crm_api_max,
            "seen_at": connection.crm_api_seen_at.isoformat()
            if connection.crm_api_seen_at
            else None,
        },
    }
    if as_json:
        console.print_json(json.dumps(data))
        return
    _print_usage(data)


def _print_usage(data: dict[str, Any]) -> None:
    allocation = data["crm_allocation"]
    console.print(
        "CRM daily allocation: "
        + (
            f"{allocation['used']} of {allocation['max']} used ({allocation['seen_at']})"
            if allocation["max"]
            else "not reported yet"
        )
    )
    by_day = Table("Day", "Calls to the CRM")
    for row in data["by_day"]:
        by_day.add_row(row["day"], str(row["calls"]))
    console.print(by_day)
    by_user = Table(f"CRM user (last {data['days']} day{'s' if data['days'] > 1 else ''})", "Calls")
    for row in data["by_user"]:
        by_user.add_row(row["crm_username"], str(row["calls"]))
    console.print(by_user)
    by_family = Table("API family", "Calls", "Counted against the CRM's limit")
    for row in data["by_family"]:
        by_family.add_row(row["family"], str(row["calls"]), str(row["counts_against_limit"]))
    console.print(by_family)
    console.print(f"Bulk API share of the calls: {data['bulk_share']:.0%}")
