"""The PostgreSQL fast path of query jobs (fastquery: CSV lines made by the database) gives the
pages the generic path gives, byte for byte, on awkward values. Runs when the CRM test database
is PostgreSQL (TANDEM_CRM_DATABASE_URL); SQLite has only the generic path."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection

from tandem.crm.bulk import processing
from tandem.crm.bulk.models import BulkQueryChunk
from tandem.crm.bulk.processing import job_run
from tandem.crm.records.models import Account, Contact
from tests.crm.api.conftest import Api

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's fast path"),
]

SOQL = (
    "SELECT Id, FirstName, LastName, Email, HasOptedOutOfEmail, Birthdate, CreatedDate, "
    "Description, Account.Name FROM Contact"
)


def _contacts(admin: Any) -> None:
    account = Account.objects.create(org=admin.org, owner=admin, name='Acme, "the" Inc')
    values = [
        ("Ada", 'Quote "me"', "ada@x.test", True, dt.date(1815, 12, 10), "line one\nline two"),
        ("", "Plain", None, False, None, None),
        ("Zoë", "Comma, here", "", False, dt.date(2, 3, 4), "tab\there;semi|pipe"),
        (None, "Crlf", None, True, None, "a\r\nb"),
    ]
    for n, (first, last, email, opted, birth, description) in enumerate(values):
        Contact.objects.create(
            org=admin.org,
            owner=admin,
            first_name=first,
            last_name=last,
            email=email,
            name=last,
            has_opted_out_of_email=opted,
            birthdate=birth,
            description=description,
            account=account if n % 2 == 0 else None,
            created_date=dt.datetime(2026, 1, 2, 3, 4, n, 250_000 * n, tzinfo=dt.UTC),
        )


def _pages(api: Api, options: dict[str, str], max_records: str) -> list[bytes]:
    job_id = api.post("/jobs/query", {"query": SOQL, **options}).json()["id"]
    job_run(job_id)
    pages, locator = [], ""
    while locator != "null":
        query = f"?maxRecords={max_records}" + (f"&locator={locator}" if locator else "")
        response = api.get(f"/jobs/query/{job_id}/results{query}")
        pages.append(response.content)
        locator = response["Sforce-Locator"]
    return pages


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"columnDelimiter": "TAB", "lineEnding": "CRLF"},
        {"columnDelimiter": "PIPE"},
    ],
)
@pytest.mark.parametrize("max_records", ["1", "3", "50000"])
def test_fast_and_generic_query_pages_are_the_same_bytes(
    api: Api,
    admin: Any,
    monkeypatch: pytest.MonkeyPatch,
    options: dict[str, str],
    max_records: str,
) -> None:
    _contacts(admin)
    monkeypatch.setattr(processing, "FAST_QUERY_CHUNK", 2)  # pages cut across chunks
    fast = _pages(api, options, max_records)
    assert BulkQueryChunk.objects.exclude(text="").count() == 2  # made by the fast path
    monkeypatch.setattr(processing.fastquery, "eligible", lambda query: False)
    generic = _pages(api, options, max_records)

    assert fast == generic
    assert b"line one\nline two" in b"".join(generic)
