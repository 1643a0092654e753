"""`tandem engagement engagement_demo`: seed the demo account (idempotent) and print its logins."""

from __future__ import annotations

import json
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tandem.engagement.accounts.demo import demo_seed
from tandem.engagement.accounts.models import Account
from tandem.engagement.accounts.services import AccountError
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.connect.selectors import crm_connection_get

USAGE_ERROR = 2


def _connection(connection: CrmConnection | None) -> dict[str, str] | None:
    if connection is None:
        return None
    return {
        "state": connection.state,
        "org_id": connection.org_id,
        "system_username": connection.system_username,
    }


class Command(BaseCommand):
    help = "Create the demo account, its Administrator and one user per CRM marketing user."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--crm-user",
            action="append",
            default=[],
            dest="crm_users",
            metavar="USERNAME",
            help="A CRM marketing user to give an Engagement user (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            demo = demo_seed(crm_usernames=options["crm_users"])
        except AccountError as exc:
            raise CommandError(str(exc), returncode=USAGE_ERROR) from exc
        account = Account.objects.get(pk=demo["account"]["id"])  # type: ignore[index]
        demo["connection"] = _connection(crm_connection_get(account=account))
        if options["json"]:
            self.stdout.write(json.dumps(demo, indent=2))
            return
        self.stdout.write(f"Account {account.name} ({account.pk}), log in at {demo['login_url']}")
        for user in demo["users"]:  # type: ignore[attr-defined]
            crm = f"  (CRM user {user['crm_username']})" if user["crm_username"] else ""
            line = f"  {user['role']:<15} {user['username']:<22} {user['password']}{crm}"
            self.stdout.write(line)
