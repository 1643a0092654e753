"""`tandem engagement account create`: a new Engagement account and its first Administrator
(reached through a Django management command of the same name, tandem/cli/style.py)."""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from tandem.cli.errors import CliError
from tandem.cli.style import JsonOption, emit_or_say, typer_app

if TYPE_CHECKING:
    from tandem.engagement.accounts.models import Account

account_app = typer_app("Manage Engagement accounts.")


def account_by_ref(ref: str) -> Account | None:
    """An Engagement account by id or name (exact, else ignoring case); None when unknown.
    Django must be set up."""
    from tandem.engagement.accounts.models import Account

    found = Account.objects.filter(name=ref).first()
    found = found or Account.objects.filter(name__iexact=ref).first()
    if found is None and ref.strip().isdigit():
        found = Account.objects.filter(pk=int(ref)).first()
    return found


def _password_from_env_or_prompt() -> str:
    """A password without putting it in the process list."""
    from_env = os.environ.get("TANDEM_ADMIN_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise CliError("No admin password: pass --admin-password or set TANDEM_ADMIN_PASSWORD.")
    return getpass.getpass("Admin password: ")


@account_app.command("create")
def account_create(
    name: Annotated[str, typer.Option(help="Account (business unit) name.")],
    admin_username: Annotated[str, typer.Option(help="The first Administrator's username.")],
    admin_password: Annotated[
        str | None, typer.Option(help="Else TANDEM_ADMIN_PASSWORD, else a prompt.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an account and its first Administrator.

    Example: tandem engagement account create --name Acme --admin-username eadmin
    """
    from tandem.cli.django import use_service

    use_service("engagement")
    import django

    django.setup()
    from tandem.engagement.accounts.services import AccountError
    from tandem.engagement.accounts.services import account_create as create

    password = admin_password or _password_from_env_or_prompt()
    try:
        admin = create(name=name, admin_username=admin_username, admin_password=password)
    except AccountError as exc:
        raise CliError(str(exc)) from exc
    account = admin.account
    assert account is not None
    emit_or_say(
        {"account_id": account.pk, "name": account.name, "admin": admin.get_username()},
        as_json,
        f"Created account {account.name!r} (id {account.pk}) with Administrator "
        f"{admin.get_username()!r}.",
    )
