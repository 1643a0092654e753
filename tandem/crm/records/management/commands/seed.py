"""`tandem crm seed --contacts N --leads N`: realistic demo records, with a progress bar."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from tandem.crm.orgs.models import Org
from tandem.crm.records.seed import records_seed
from tandem.crm.users.models import User


class Command(BaseCommand):
    help = (
        "Add demo accounts, contacts, leads, campaigns with members, reports, and (once) "
        "opportunities, cases, tasks and events to an org."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--contacts", type=int, default=1000)
        parser.add_argument("--leads", type=int, default=200)
        parser.add_argument("--campaigns", type=int, default=5)
        parser.add_argument("--org", default="acme", help="My Domain of the org (default: acme).")
        parser.add_argument("--seed", type=int, default=None, help="Random seed, to repeat a run.")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("contacts", "leads", "campaigns"):
            if options[name] < 0:
                raise CommandError(f"--{name} must be 0 or more")
        org = Org.objects.filter(my_domain=options["org"]).first()
        if org is None:
            raise CommandError(
                f"no org with My Domain {options['org']!r} (run `tandem crm crm_demo`)"
            )
        owner = (
            User.objects.filter(org=org, is_active=True)
            .order_by("-profile__modify_all_data", "created_at")
            .first()
        )
        if owner is None:
            raise CommandError(f"org {org.name} has no active user to own the records")
        accounts = max(1, options["contacts"] // 20) if options["contacts"] else 0
        with Progress(
            TextColumn("{task.description:<10}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        ) as bar:
            tasks = {
                "accounts": bar.add_task("accounts", total=accounts),
                "contacts": bar.add_task("contacts", total=options["contacts"]),
                "leads": bar.add_task("leads", total=options["leads"]),
                "campaigns": bar.add_task("campaigns", total=options["campaigns"]),
            }
            counts = records_seed(
                org=org,
                owner=owner,
                contacts=options["contacts"],
                leads=options["leads"],
                campaigns=options["campaigns"],
                seed=options["seed"],
                progress=lambda stage, n: bar.advance(tasks[stage], n),
            )
        self.stdout.write(
            f"Seeded {org.name}: {counts.accounts} accounts, {counts.contacts} contacts, "
            f"{counts.leads} leads, {counts.campaigns} campaigns with {counts.members} members, "
            f"{counts.reports} reports, {counts.opportunities} opportunities, {counts.cases} "
            f"cases, {counts.tasks} tasks, {counts.events} events."
        )
