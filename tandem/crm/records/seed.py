"""Realistic demo records in bulk: accounts, contacts, leads, campaigns with members, reports;
and, once per org, a handful of opportunities, cases, tasks and events."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.crm.orgs.models import Org
from tandem.crm.records.derive import OBJECT_DERIVATIONS
from tandem.crm.records.models import (
    Account,
    Campaign,
    CampaignMember,
    Case,
    Contact,
    Event,
    Lead,
    Opportunity,
    Report,
    Task,
)
from tandem.crm.users.models import User

BATCH = 2000
FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Margaret",
    "Ken",
    "Barbara",
    "Dennis",
    "Frances",
    "Edsger",
    "Radia",
    "Tim",
    "Hedy",
    "John",
    "Katherine",
    "Donald",
    "Sophie",
    "Guido",
    "Anita",
    "Niklaus",
    "Joan",
    "Vint",
    "Shafi",
    "Leslie",
    "Karen",
    "Bjarne",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Hamilton",
    "Thompson",
    "Liskov",
    "Ritchie",
    "Allen",
    "Dijkstra",
    "Perlman",
    "Berners-Lee",
    "Lamarr",
    "McCarthy",
    "Johnson",
    "Knuth",
    "Wilson",
    "Rossum",
    "Borg",
    "Wirth",
    "Clarke",
    "Cerf",
    "Goldwasser",
    "Lamport",
    "Jones",
    "Stroustrup",
    "O'Neil",
    "Nguyen",
    "Okafor",
    "Schmidt",
]
COMPANY_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Wonka",
    "Gringotts",
    "Oscorp",
    "Aperture",
    "Massive",
    "Dynamic",
    "Nakatomi",
]
SUFFIXES = ("Inc", "LLC", "Ltd", "GmbH", "SA", "Group", "Labs", "Systems")
CITIES = (
    ("Paris", "France"),
    ("Berlin", "Germany"),
    ("London", "United Kingdom"),
    ("Lagos", "Nigeria"),
    ("Austin", "USA"),
    ("Osaka", "Japan"),
    ("Lima", "Peru"),
)
TITLES = ("CEO", "CTO", "VP Marketing", "Engineer", "Buyer", "Analyst", "Director of Sales", None)
SOURCES = ("Web", "Phone Inquiry", "Partner Referral", "Purchased List", "Other", None)
INDUSTRIES = ("Agriculture", "Banking", "Education", "Retail", "Technology")
LEAD_STATUSES = ("Open - Not Contacted", "Working - Contacted", "Closed - Not Converted")

Progress = Callable[[str, int], None]


@dataclass(frozen=True)
class SeedCounts:
    accounts: int
    contacts: int
    leads: int
    campaigns: int
    members: int
    reports: int
    opportunities: int = 0
    cases: int = 0
    tasks: int = 0
    events: int = 0


# The sales and service demo: (deal, stage, amount, days to close) per opportunity.
DEALS = (
    ("Platform renewal", "Negotiation/Review", 48000.0, 20),
    ("New team licences", "Prospecting", 12000.0, 60),
    ("Support upgrade", "Proposal/Price Quote", 9500.0, 35),
    ("Pilot project", "Closed Won", 25000.0, -10),
    ("Data migration", "Closed Lost", 18000.0, -25),
    ("Training package", "Qualification", 4000.0, 45),
)
CASES = (
    ("Cannot log in", "Web", "High", "New"),
    ("Invoice shows the wrong amount", "Email", "Medium", "Working"),
    ("Export times out", "Phone", "High", "Escalated"),
    ("How do I add a user?", "Web", "Low", "Closed"),
)
TASKS = (
    ("Call to discuss renewal", "Not Started", "High", "Call"),
    ("Send proposal", "In Progress", "Normal", "Email"),
    ("Follow up on case", "Completed", "Normal", "Task"),
    ("Check in after pilot", "Deferred", "Low", "Task"),
)
EVENTS = (
    ("Discovery meeting", "Video call", 30),
    ("Product demo", "Customer office", 60),
    ("Quarterly review", "Head office", 90),
)


def _batches(total: int) -> Iterator[int]:
    done = 0
    while done < total:
        size = min(BATCH, total - done)
        yield size
        done += size


def _email(rng: random.Random, first: str, last: str, n: int) -> str:
    domain = rng.choice(COMPANY_WORDS).lower()
    return f"{first.lower()}.{last.lower().replace(chr(39), '')}{n}@{domain}.example"


class _Seeder:
    def __init__(self, org: Org, owner: User, rng: random.Random, progress: Progress) -> None:
        self.org, self.owner, self.rng, self.progress = org, owner, rng, progress
        self.now = timezone.now()

    def _stamp(self) -> dict[str, object]:
        created = self.now - dt.timedelta(minutes=self.rng.randint(0, 60 * 24 * 400))
        return {
            "org": self.org,
            "owner": self.owner,
            "created_date": created,
            "last_modified_date": created,
            "system_modstamp": created,
        }

    def accounts(self, count: int) -> list[str]:
        ids: list[str] = []
        for size in _batches(count):
            rows = []
            for _ in range(size):
                city, country = self.rng.choice(CITIES)
                words = (self.rng.choice(COMPANY_WORDS), self.rng.choice(COMPANY_WORDS))
                name = f"{words[0]} {words[1]} {self.rng.choice(SUFFIXES)}"
                rows.append(
                    Account(
                        **self._stamp(),
                        name=name,
                        industry=self.rng.choice(INDUSTRIES),
                        type="Customer - Direct",
                        billing_city=city,
                        billing_country=country,
                        number_of_employees=self.rng.choice((5, 40, 250, 1200, None)),
                    )
                )
            ids += [a.pk for a in Account.objects.bulk_create(rows)]
            self.progress("accounts", size)
        return ids

    def contacts(self, count: int, account_ids: list[str]) -> list[str]:
        ids: list[str] = []
        rng = self.rng
        for size in _batches(count):
            rows = []
            for _ in range(size):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                city, country = rng.choice(CITIES)
                rows.append(
                    Contact(
                        **self._stamp(),
                        first_name=first,
                        last_name=last,
                        name=f"{first} {last}",
                        email=_email(rng, first, last, rng.randint(1, 9999)),
                        title=rng.choice(TITLES),
                        lead_source=rng.choice(SOURCES),
                        mailing_city=city,
                        mailing_country=country,
                        account_id=rng.choice(account_ids) if account_ids else None,
                        has_opted_out_of_email=rng.random() < 0.05,
                    )
                )
            ids += [c.pk for c in Contact.objects.bulk_create(rows)]
            self.progress("contacts", size)
        return ids

    def leads(self, count: int) -> list[str]:
        ids: list[str] = []
        rng = self.rng
        for size in _batches(count):
            rows = []
            for _ in range(size):
                first, last = rng.choice(FIRST), rng.choice(LAST)
                city, country = rng.choice(CITIES)
                rows.append(
                    Lead(
                        **self._stamp(),
                        first_name=first,
                        last_name=last,
                        name=f"{first} {last}",
                        company=f"{rng.choice(COMPANY_WORDS)} {rng.choice(SUFFIXES)}",
                        email=_email(rng, first, last, rng.randint(1, 9999)),
                        status=rng.choice(LEAD_STATUSES),
                        lead_source=rng.choice(SOURCES),
                        city=city,
                        country=country,
                    )
                )
            ids += [lead.pk for lead in Lead.objects.bulk_create(rows)]
            self.progress("leads", size)
        return ids

    def campaigns(self, count: int, contact_ids: list[str], lead_ids: list[str]) -> int:
        today = self.now.date()
        members = 0
        for n in range(count):
            start = today - dt.timedelta(days=30 * n)
            campaign = Campaign.objects.create(
                **self._stamp(),
                name=f"{start:%B %Y} Newsletter",
                type="Email",
                status="Completed" if n else "In Progress",
                start_date=start,
                end_date=start + dt.timedelta(days=14),
                is_active=n == 0,
                budgeted_cost=5000.0,
            )
            rows = [
                CampaignMember(
                    **self._stamp(),
                    campaign=campaign,
                    contact_id=cid,
                    status=self.rng.choice(("Sent", "Responded")),
                )
                for cid in self.rng.sample(contact_ids, min(len(contact_ids), 200))
            ] + [
                CampaignMember(**self._stamp(), campaign=campaign, lead_id=lid, status="Sent")
                for lid in self.rng.sample(lead_ids, min(len(lead_ids), 50))
            ]
            for row in rows:
                row.has_responded = row.status == "Responded"
            CampaignMember.objects.bulk_create(rows, batch_size=BATCH)
            members += len(rows)
            self.progress("campaigns", 1)
        return members

    def reports(self) -> int:
        definitions = [
            (
                "Contacts with email",
                "Contact",
                ["FirstName", "LastName", "Email", "Account.Name"],
                [
                    {"column": "Email", "operator": "notEqual", "value": None},
                    {"column": "HasOptedOutOfEmail", "operator": "equals", "value": False},
                ],
                "LastName",
            ),
            (
                "Open leads",
                "Lead",
                ["FirstName", "LastName", "Company", "Status", "Email"],
                [{"column": "Status", "operator": "startsWith", "value": "Open"}],
                "Company",
            ),
            (
                "Campaign responders",
                "CampaignMember",
                ["Campaign.Name", "Contact.Email", "Status", "FirstRespondedDate"],
                [{"column": "HasResponded", "operator": "equals", "value": True}],
                "Campaign.Name",
            ),
        ]
        for name, kind, columns, filters, sort in definitions:
            Report.objects.get_or_create(
                org=self.org,
                developer_name=name.replace(" ", "_"),
                defaults={
                    **self._stamp(),
                    "name": name,
                    "report_type": kind,
                    "columns": columns,
                    "filters": filters,
                    "sort_column": sort,
                },
            )
        return len(definitions)

    def _derived(self, record: Any) -> Any:
        OBJECT_DERIVATIONS[record.__class__.__name__](record, set(), True)
        return record

    def sales(self, account_ids: list[str], contact_ids: list[str]) -> tuple[int, ...]:
        """Opportunities, cases, tasks and events on the first seeded accounts and contacts;
        once per org (skipped when it has opportunities), so a rerun adds none."""
        if not account_ids or Opportunity.objects.filter(org=self.org).exists():
            return 0, 0, 0, 0
        today = self.now.date()
        accounts = list(Account.objects.filter(pk__in=account_ids[:3]).order_by("pk"))
        opportunities = [
            self._derived(
                Opportunity(
                    **self._stamp(),
                    name=f"{accounts[n % len(accounts)].name} - {deal}",
                    account=accounts[n % len(accounts)],
                    stage_name=stage,
                    amount=amount,
                    close_date=today + dt.timedelta(days=days),
                    type="New Customer",
                )
            )
            for n, (deal, stage, amount, days) in enumerate(DEALS)
        ]
        Opportunity.objects.bulk_create(opportunities)
        contacts = list(Contact.objects.filter(pk__in=contact_ids[:4]).order_by("pk"))
        cases = []
        for n, (subject, origin, priority, status) in enumerate(CASES):
            contact = contacts[n % len(contacts)] if contacts else None
            case = Case(
                **self._stamp(),
                subject=subject,
                origin=origin,
                priority=priority,
                status=status,
                contact=contact,
                account_id=contact.account_id if contact else accounts[0].pk,
            )
            cases.append(self._derived(case))
        Case.objects.bulk_create(cases)
        tasks = [
            self._derived(
                Task(
                    **self._stamp(),
                    subject=subject,
                    status=status,
                    priority=priority,
                    task_subtype=subtype,
                    activity_date=today + dt.timedelta(days=n * 3),
                    who_id=contacts[n % len(contacts)].pk if contacts else None,
                    what_id=(opportunities + cases)[n].pk,
                )
            )
            for n, (subject, status, priority, subtype) in enumerate(TASKS)
        ]
        Task.objects.bulk_create(tasks)
        start = self.now.replace(minute=0, second=0, microsecond=0)
        events = [
            self._derived(
                Event(
                    **self._stamp(),
                    subject=subject,
                    location=location,
                    start_date_time=start + dt.timedelta(days=n + 1),
                    duration_in_minutes=minutes,
                    who_id=contacts[n % len(contacts)].pk if contacts else None,
                    what_id=accounts[n % len(accounts)].pk,
                )
            )
            for n, (subject, location, minutes) in enumerate(EVENTS)
        ]
        Event.objects.bulk_create(events)
        return len(opportunities), len(cases), len(tasks), len(events)


def records_seed(
    *,
    org: Org,
    owner: User,
    contacts: int,
    leads: int,
    campaigns: int = 5,
    seed: int | None = None,
    progress: Progress | None = None,
) -> SeedCounts:
    """Add demo records to `org` (batched bulk inserts, one transaction)."""
    seeder = _Seeder(org, owner, random.Random(seed), progress or (lambda _stage, _n: None))  # noqa: S311 (demo data, not secrets)
    with transaction.atomic():
        account_ids = seeder.accounts(max(1, contacts // 20) if contacts else 0)
        contact_ids = seeder.contacts(contacts, account_ids)
        lead_ids = seeder.leads(leads)
        members = seeder.campaigns(campaigns, contact_ids, lead_ids)
        reports = seeder.reports()
        sales = seeder.sales(account_ids, contact_ids)
    return SeedCounts(
        len(account_ids), len(contact_ids), len(lead_ids), campaigns, members, reports, *sales
    )
