"""`tandem crm crm_demo`: seed the demo org (idempotent) and print its logins."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tandem.crm.setup.demo import demo_seed


class Command(BaseCommand):
    help = "Create the demo org, its admin, Connect's future system user and marketing users."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_seed()
        if options["json"]:
            self.stdout.write(json.dumps(demo, indent=2))
            return
        org: dict[str, str] = demo["org"]  # type: ignore[assignment]
        self.stdout.write(f"Org {org['name']} ({org['id']}), log in at {org['login_url']}")
        self.stdout.write(f"  or at the generic {demo['login_url']}")
        for user in demo["users"]:  # type: ignore[attr-defined]
            token = f"  security token {user['security_token']}" if "security_token" in user else ""
            self.stdout.write(
                f"  {user['role']:<15} {user['username']:<22} {user['password']}{token}"
            )
