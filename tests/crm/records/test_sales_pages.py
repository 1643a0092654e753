"""List and detail pages of opportunities, cases, tasks and events; seeded demo records."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client

from tandem.crm.records.models import Account, Case, Event, Opportunity, Task
from tandem.crm.records.seed import records_seed

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def records(org: Any, admin: Any) -> dict[str, Any]:
    account = Account.objects.create(org=org, owner=admin, name="Acme Corp")
    start = dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC)
    return {
        "opportunities": Opportunity.objects.create(
            org=org,
            owner=admin,
            name="Big renewal",
            account=account,
            stage_name="Prospecting",
            close_date=dt.date(2026, 12, 31),
            amount=1000,
        ),
        "cases": Case.objects.create(
            org=org, owner=admin, case_number="00001001", subject="Printer on fire"
        ),
        "tasks": Task.objects.create(
            org=org, owner=admin, subject="Call the customer", what_id=account.pk
        ),
        "events": Event.objects.create(
            org=org,
            owner=admin,
            subject="Kick-off meeting",
            start_date_time=start,
            duration_in_minutes=30,
        ),
    }


SHOWN = {
    "opportunities": "Big renewal",
    "cases": "00001001",
    "tasks": "Call the customer",
    "events": "Kick-off meeting",
}


@pytest.mark.parametrize("slug", list(SHOWN))
def test_list_and_detail_pages(standard_user: Any, records: dict[str, Any], slug: str) -> None:
    client = _client(standard_user)

    listed = client.get(f"/records/{slug}/")
    detail = client.get(f"/records/{slug}/{records[slug].pk}/")

    assert listed.status_code == detail.status_code == 200
    assert SHOWN[slug] in listed.content.decode()
    assert SHOWN[slug] in detail.content.decode()
    assert f'href="/records/{slug}/"' in listed.content.decode()  # a tab in the navigation


@pytest.mark.parametrize("slug", list(SHOWN))
def test_another_org_sees_none_of_them(outsider: Any, records: dict[str, Any], slug: str) -> None:
    client = _client(outsider)

    assert SHOWN[slug] not in client.get(f"/records/{slug}/").content.decode()
    assert client.get(f"/records/{slug}/{records[slug].pk}/").status_code == 404


def test_seed_adds_linked_sales_records_once(org: Any, admin: Any) -> None:
    first = records_seed(org=org, owner=admin, contacts=40, leads=5, campaigns=1, seed=4)
    second = records_seed(org=org, owner=admin, contacts=40, leads=5, campaigns=1, seed=5)

    assert (first.opportunities, first.cases, first.tasks, first.events) == (6, 4, 4, 3)
    assert (second.opportunities, second.cases, second.tasks, second.events) == (0, 0, 0, 0)
    assert Opportunity.objects.filter(org=org).count() == 6
    stages = set(Opportunity.objects.values_list("stage_name", flat=True))
    assert {"Prospecting", "Closed Won", "Closed Lost"} <= stages
    assert Opportunity.objects.filter(account__isnull=True).count() == 0
    assert Opportunity.objects.get(stage_name="Closed Won").is_won
    assert sorted(Case.objects.values_list("case_number", flat=True)) == [
        "00001001",
        "00001002",
        "00001003",
        "00001004",
    ]
    assert Task.objects.filter(who_id__isnull=True).count() == 0
    assert Event.objects.filter(end_date_time__isnull=True).count() == 0


def test_home_page_links_to_the_new_lists(standard_user: Any) -> None:
    page = _client(standard_user).get("/").content.decode()

    for slug in SHOWN:
        assert f'href="/records/{slug}/"' in page


def test_seed_command_reports_the_sales_records(org: Any, admin: Any) -> None:
    first, second = StringIO(), StringIO()
    call_command("seed", "--contacts", "20", "--leads", "2", "--campaigns", "0", stdout=first)
    call_command("seed", "--contacts", "20", "--leads", "2", "--campaigns", "0", stdout=second)

    assert "6 opportunities, 4 cases, 4 tasks, 3 events." in first.getvalue()
    assert "0 opportunities, 0 cases, 0 tasks, 0 events." in second.getvalue()
    assert Opportunity.objects.filter(org=org).count() == 6
