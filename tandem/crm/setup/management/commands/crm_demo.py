"""`tandem crm crm_demo`: seed the demo org (idempotent) and print its logins; the CRM steps of
`tandem demo` around Connect's legacy connection and of `tandem demo --reset`."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tandem.crm.setup.demo import demo_seed
from tandem.crm.setup.demo_rehearsal import demo_departed_set, demo_upgrade_reset


class Command(BaseCommand):
    help = "Create the demo org, its admin, Connect's system user, marketing users and records."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")
        parser.add_argument(
            "--reissue-token",
            action="append",
            default=[],
            metavar="USERNAME",
            help="Issue a new security token to this demo user (repeatable).",
        )
        parser.add_argument(
            "--departed",
            choices=("active", "inactive"),
            help="Make the user who left the company active (before Connect logs in as them) "
            "or inactive (afterwards).",
        )
        parser.add_argument(
            "--reset-upgrade",
            action="store_true",
            help="Undo the CRM admin's steps of the upgrade (policies, permission set, approvals).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        demo = demo_seed(reissue_tokens=tuple(options["reissue_token"]))
        if options["reset_upgrade"]:
            demo["reset"] = demo_upgrade_reset()
        if options["departed"]:
            demo["departed_changed"] = demo_departed_set(active=options["departed"] == "active")
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
