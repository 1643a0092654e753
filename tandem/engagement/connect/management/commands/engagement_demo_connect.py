"""`tandem engagement engagement_demo_connect`: connect the demo account (legacy authentication)
and map its previously connected users; the credentials come as JSON on stdin."""

from __future__ import annotations

import json
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from tandem.engagement.accounts.demo import DEMO_ACCOUNT_NAME, DEMO_ADMIN_USERNAME
from tandem.engagement.accounts.models import User
from tandem.engagement.connect.demo import LegacyLogin, demo_legacy_connect
from tandem.engagement.connect.errors import ConnectError

USAGE_ERROR = 2


def _login(entry: dict[str, Any]) -> LegacyLogin:
    return LegacyLogin(
        crm_username=str(entry["crm_username"]),
        password=str(entry["password"]),
        security_token=str(entry.get("security_token", "")),
        engagement_username=str(entry.get("engagement_username", "")),
    )


class Command(BaseCommand):
    help = (
        "Connect the demo account under legacy authentication. Reads JSON on stdin: "
        '{"login_url": ..., "system": LOGIN, "users": [LOGIN, ...]}, where LOGIN is '
        '{"crm_username", "password", "security_token", "engagement_username"}.'
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--reset", action="store_true", help="Forget the account's connection first."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            given = json.load(sys.stdin)
            system, users = _login(given["system"]), [_login(u) for u in given["users"]]
            login_url = str(given["login_url"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CommandError(
                f"stdin: not the expected JSON ({exc})", returncode=USAGE_ERROR
            ) from exc
        admin = User.objects.filter(
            username=DEMO_ADMIN_USERNAME, account__name=DEMO_ACCOUNT_NAME
        ).first()
        if admin is None:
            raise CommandError(
                "the demo account does not exist (tandem demo)", returncode=USAGE_ERROR
            )
        try:
            connection = demo_legacy_connect(
                admin=admin, login_url=login_url, system=system, users=users, reset=options["reset"]
            )
        except ConnectError as exc:
            raise CommandError(exc.message, returncode=USAGE_ERROR) from exc
        mapped = connection.account.connected_users.order_by("crm_username")
        self.stdout.write(
            json.dumps(
                {
                    "state": connection.state,
                    "org_id": connection.org_id,
                    "system_username": connection.system_username,
                    "users": [{"crm_username": m.crm_username, "state": m.state} for m in mapped],
                }
            )
        )
