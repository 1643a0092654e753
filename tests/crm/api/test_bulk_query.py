"""Bulk API 2.0 query jobs: query and queryAll, CSV pages by Sforce-Locator and maxRecords."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tandem.crm.bulk import processing
from tandem.crm.bulk.processing import job_run
from tandem.crm.records.models import Account, Contact
from tests.crm.api.bulk import rows
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def _query(api: Api, soql: str, **options: str) -> str:
    response = api.post("/jobs/query", {"operation": "query", "query": soql, **options})
    assert response.status_code == 200, response.content
    job_id: str = response.json()["id"]
    job_run(job_id)
    return job_id


def _contacts(admin: Any, count: int) -> list[Contact]:
    return [
        Contact.objects.create(org=admin.org, owner=admin, last_name=f"C{n:03d}", name=f"C{n:03d}")
        for n in range(count)
    ]


def test_create_answers_the_job_upload_complete(api: Api, admin: Any) -> None:
    response = api.post("/jobs/query", {"operation": "query", "query": "SELECT Id FROM Contact"})

    body = response.json()
    assert response.status_code == 200
    assert body["id"].startswith("750")
    assert body["state"] == "UploadComplete"
    assert body["operation"] == "query"
    assert body["object"] == "Contact"
    assert body["createdById"] == admin.pk
    assert "contentUrl" not in body


def test_results_are_csv_with_the_query_columns(api: Api, admin: Any) -> None:
    account = Account.objects.create(org=admin.org, owner=admin, name="Acme, Inc")
    Contact.objects.create(
        org=admin.org,
        owner=admin,
        last_name="Ada",
        name="Ada",
        account=account,
        has_opted_out_of_email=True,
        birthdate=dt.date(1815, 12, 10),
        created_date=dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    )
    job_id = _query(
        api,
        "SELECT Id, LastName, Email, HasOptedOutOfEmail, Birthdate, CreatedDate, "
        "Account.Name FROM Contact",
    )

    info = api.get(f"/jobs/query/{job_id}").json()
    response = api.get(f"/jobs/query/{job_id}/results")

    assert info["state"] == "JobComplete"
    assert info["jobType"] == "V2Query"
    assert info["numberRecordsProcessed"] == 1
    assert response["Sforce-Locator"] == "null"
    assert response["Sforce-NumberOfRecords"] == "1"
    [row] = rows(response)
    assert row == {
        "Id": Contact.objects.get().pk,
        "LastName": "Ada",
        "Email": "",
        "HasOptedOutOfEmail": "true",
        "Birthdate": "1815-12-10",
        "CreatedDate": "2026-01-02T03:04:05.000Z",
        "Account.Name": "Acme, Inc",
    }


def test_pages_follow_the_locator_until_null(
    api: Api, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processing, "QUERY_CHUNK", 2)  # pages of 3 cross stored chunks of 2
    monkeypatch.setattr(processing, "FAST_QUERY_CHUNK", 2)
    made = _contacts(admin, 7)
    job_id = _query(api, "SELECT Id FROM Contact")

    seen: list[str] = []
    counts: list[str] = []
    locator = ""
    for _ in range(10):
        suffix = f"&locator={locator}" if locator else ""
        response = api.get(f"/jobs/query/{job_id}/results?maxRecords=3{suffix}")
        seen += [r["Id"] for r in rows(response)]
        counts.append(response["Sforce-NumberOfRecords"])
        locator = response["Sforce-Locator"]
        if locator == "null":
            break

    assert counts == ["3", "3", "1"]
    assert len(seen) == 7
    assert sorted(seen) == sorted(c.pk for c in made)


def test_query_leaves_out_deleted_records_and_query_all_keeps_them(api: Api, admin: Any) -> None:
    live, gone = _contacts(admin, 2)
    Contact.objects.filter(pk=gone.pk).update(is_deleted=True)

    plain = _query(api, "SELECT Id FROM Contact")
    response = api.post("/jobs/query", {"operation": "queryAll", "query": "SELECT Id FROM Contact"})
    every = response.json()["id"]
    job_run(every)

    assert [r["Id"] for r in rows(api.get(f"/jobs/query/{plain}/results"))] == [live.pk]
    assert {r["Id"] for r in rows(api.get(f"/jobs/query/{every}/results"))} == {live.pk, gone.pk}


def test_where_order_and_limit_apply(api: Api, admin: Any) -> None:
    _contacts(admin, 5)

    job_id = _query(
        api, "SELECT LastName FROM Contact WHERE LastName != 'C002' ORDER BY LastName DESC LIMIT 3"
    )

    got = [r["LastName"] for r in rows(api.get(f"/jobs/query/{job_id}/results"))]
    assert got == ["C004", "C003", "C001"]


def test_semicolon_delimiter_and_crlf(api: Api, admin: Any) -> None:
    _contacts(admin, 1)

    job_id = _query(
        api, "SELECT LastName FROM Contact", columnDelimiter="SEMICOLON", lineEnding="CRLF"
    )

    assert api.get(f"/jobs/query/{job_id}/results").content == b'"LastName"\r\n"C000"\r\n'


def test_the_results_are_a_snapshot_taken_by_the_run(api: Api, admin: Any) -> None:
    _contacts(admin, 2)
    job_id = _query(api, "SELECT Id FROM Contact")

    _contacts(admin, 1)

    assert len(rows(api.get(f"/jobs/query/{job_id}/results"))) == 2


def test_list_shows_query_jobs_only(api: Api) -> None:
    query = _query(api, "SELECT Id FROM Contact")
    api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"})

    records = api.get("/jobs/query").json()["records"]

    assert [(j["id"], j["jobType"], j["state"]) for j in records] == [
        (query, "V2Query", "JobComplete")
    ]
