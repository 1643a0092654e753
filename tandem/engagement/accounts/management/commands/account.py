"""`tandem engagement account create`: a new account and its first Administrator."""

from __future__ import annotations

import getpass
import os
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tandem.engagement.accounts.services import AccountError, account_create

USAGE_ERROR = 2


class Command(BaseCommand):
    help = "Manage Engagement accounts."

    def add_arguments(self, parser: ArgumentParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser(
            "create",
            help="Create an account and its first Administrator.",
            description=(
                "The password comes from --admin-password, else TANDEM_ADMIN_PASSWORD, "
                "else a prompt."
            ),
        )
        create.add_argument("--name", required=True, help="Account (business unit) name.")
        create.add_argument("--admin-username", required=True)
        create.add_argument("--admin-password", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        password = options["admin_password"] or _password_from_env_or_prompt()
        try:
            admin = account_create(
                name=options["name"],
                admin_username=options["admin_username"],
                admin_password=password,
            )
        except AccountError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from exc
        assert admin.account is not None
        self.stdout.write(
            f"Created account {admin.account.name!r} (id {admin.account.pk}) "
            f"with Administrator {admin.get_username()!r}."
        )


def _password_from_env_or_prompt() -> str:
    """A password without putting it in the process list."""
    from_env = os.environ.get("TANDEM_ADMIN_PASSWORD")
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise CommandError(
            "No admin password: pass --admin-password or set TANDEM_ADMIN_PASSWORD.",
            returncode=USAGE_ERROR,
        )
    return getpass.getpass("Admin password: ")
