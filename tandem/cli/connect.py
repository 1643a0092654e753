"""`tandem connect`: Marketing Cloud Connect and its upgrade, from the command line."""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from tandem.cli.django import use_service
from tandem.cli.errors import fail
from tandem.cli.mc_keys import local_mc_env_setdefault
from tandem.core.paths import var_dir

if TYPE_CHECKING:
    from tandem.engagement.accounts.models import Account, User
    from tandem.engagement.connect.models import CrmConnection

app = typer.Typer(help="Marketing Cloud Connect (the CRM integration).", no_args_is_help=True)
console = Console(highlight=False)

AccountOption = Annotated[str, typer.Option("--account", help="The Engagement account's name.")]
AdminOption = Annotated[str, typer.Option("--admin", help="The acting Administrator's username.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _django() -> None:
    local_mc_env_setdefault(var_dir() / "connect")  # the keys `tandem up` made, when not given
    use_service("engagement")
    import django

    django.setup()


def _account(name: str) -> Account:
    from tandem.engagement.accounts.models import Account

    found = Account.objects.filter(name=name).first()
    if found is None:
        fail(f"there is no account named {name!r}")
    return found


def _admin(account: Account, username: str) -> User:
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
    """Mode, org, system user, connected users and days left."""
    _django()
    _print_status(_status(_connection(_account(account))), as_json)


@app.command("connect-legacy")
def connect_legacy(
    account: AccountOption,
    admin: AdminOption,
    login_url: Annotated[str, typer.Option(help="The CRM login URL.")],
    username: Annotated[str, typer.Option(help="The CRM system user's username.")],
    password: Annotated[str | None, typer.Option(help="Or TANDEM_CRM_PASSWORD.")] = None,
    security_token: Annotated[str, typer.Option(help="Or TANDEM_CRM_SECURITY_TOKEN.")] = "",
) -> None:
    """Connect the account with the system user's password and security token (legacy)."""
    _django()
    from tandem.engagement.connect.services import connection_legacy_connect

    found = _account(account)
    connection = _call(
        connection_legacy_connect,
        actor=_admin(found, admin),
        account=found,
        login_url=login_url,
        username=username,
        password=_secret(password, "TANDEM_CRM_PASSWORD", "CRM password"),
        security_token=security_token or os.environ.get("TANDEM_CRM_SECURITY_TOKEN", ""),
    )
    console.print(f"Connected {found.name} to org {connection.org_id} (legacy).")


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
) -> None:
    """Integrate for Salesforce.com Status: map an Engagement user to a CRM username."""
    _django()
    from tandem.engagement.connect.models import ConnectionState
    from tandem.engagement.connect.services import connected_user_map

    found = _account(account)
    connection = _connection(found)
    member = found.users.filter(username=user).first()
    if member is None:
        fail(f"there is no user {user!r} in {found.name}")
    legacy = connection.state == ConnectionState.LEGACY
    secret = _secret(password, "TANDEM_CRM_PASSWORD", "CRM password") if legacy else ""
    mapping = _call(
        connected_user_map,
        actor=_admin(found, admin),
        connection=connection,
        user=member,
        crm_username=crm_username,
        password=secret,
        security_token=security_token,
    )
    console.print(f"{user} ↔ {mapping.crm_username}: {mapping.get_state_display()}")


@app.command("preflight")
def preflight(account: AccountOption, as_json: JsonOption = False) -> None:
    """For each user: will the connected app let Connect in, and why not."""
    _django()
    from tandem.engagement.connect.selectors import preflight as run

    rows = run(connection=_connection(_account(account)))
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
) -> None:
    """Upgrade to Connected App without a browser (the system user must be pre-authorized)."""
    _django()
    from tandem.engagement.connect import services

    found = _account(account)
    actor = _admin(found, admin)
    connection = _connection(found)
    if connection.state == "legacy":
        _call(services.upgrade_begin, actor=actor, connection=connection, log_in_again=False)
        connection.refresh_from_db()
    connection = _call(services.upgrade_verify_by_jwt, actor=actor, connection=connection)
    connection = _call(
        services.upgrade_complete,
        actor=actor,
        connection=connection,
        migrate_users=migrate_users,
        erase_legacy_now=erase_legacy_now,
    )
    console.print(f"{found.name} uses Connected App authentication.")
    _print_status(_status(connection), as_json=False)


@app.command("migrate-users")
def migrate_users(account: AccountOption, admin: AdminOption, as_json: JsonOption = False) -> None:
    """Migrate Existing Users again: every legacy user not reconnected yet."""
    _django()
    from tandem.engagement.connect.migration import users_migrate

    found = _account(account)
    run = _call(users_migrate, actor=_admin(found, admin), connection=_connection(found))
    if as_json:
        console.print_json(
            json.dumps(
                {
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


@app.command("rollback")
def rollback(account: AccountOption, admin: AdminOption) -> None:
    """Back to legacy authentication, while the legacy credentials are still held."""
    _django()
    from tandem.engagement.connect.services import upgrade_rollback

    found = _account(account)
    _call(upgrade_rollback, actor=_admin(found, admin), connection=_connection(found))
    console.print(f"{found.name} uses legacy authentication again.")


@app.command("outage")
def outage(
    account: AccountOption,
    admin: AdminOption,
    start: Annotated[str, typer.Option(help="ISO 8601 start, e.g. 2026-12-01T20:00Z.")],
    hours: Annotated[float, typer.Option(help="Duration in hours.")] = 2.0,
) -> None:
    """Schedule Outage: CRM-audience sends and syncs pause for its length."""
    _django()
    from datetime import UTC, datetime

    from tandem.engagement.connect.selectors import outage_activities
    from tandem.engagement.connect.services import outage_schedule

    try:
        starts_at = datetime.fromisoformat(start.replace("Z", "+00:00"))
    except ValueError:
        fail(f"--start: not an ISO 8601 time: {start!r}")
    if starts_at.tzinfo is None:
        starts_at = starts_at.replace(tzinfo=UTC)
    found = _account(account)
    scheduled = _call(
        outage_schedule, actor=_admin(found, admin), account=found, starts_at=starts_at, hours=hours
    )
    console.print(f"Outage {scheduled.starts_at:%Y-%m-%d %H:%M} to {scheduled.ends_at:%H:%M} UTC.")
    for send in outage_activities(outage=scheduled):
        console.print(f"  inside the window: send {send.pk} {send.name!r} at {send.scheduled_at}")
