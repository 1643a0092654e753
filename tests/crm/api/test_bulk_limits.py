"""`limits` counts the org's Bulk API 2.0 use over the last 24 hours: a batch per 10,000
records (or part of them) an ingest job processed, and each query job."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from tandem.crm.bulk import selectors
from tandem.crm.bulk.models import BulkJob
from tests.crm.api.bulk import ingest
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def _bulk_limits(api: Api) -> dict[str, Any]:
    body = api.get("/limits").json()
    return {name: body[name] for name in ("DailyBulkApiBatches", "DailyBulkV2QueryJobs")}


def test_a_fresh_org_has_its_whole_bulk_allocation(api: Api) -> None:
    assert _bulk_limits(api) == {
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
    }


def test_ingest_jobs_use_a_batch_per_started_block_of_records(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "BATCH_RECORDS", 2)  # stands for 10,000
    five = "LastName\n" + "".join(f"R{n}\n" for n in range(5))
    ingest(api, five, object="Contact", operation="insert")  # 3 batches
    ingest(api, "LastName\nOne\n", object="Contact", operation="insert")  # 1 batch
    ingest(api, "Nope\nX\n", object="Contact", operation="insert")  # failed whole: 0 rows
    api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"})  # Open: nothing yet

    limits = _bulk_limits(api)

    assert limits["DailyBulkApiBatches"] == {"Max": 15000, "Remaining": 15000 - 4}
    assert limits["DailyBulkV2QueryJobs"]["Remaining"] == 10000


def test_query_jobs_count_as_query_jobs_not_batches(api: Api) -> None:
    for _ in range(3):
        api.post("/jobs/query", {"operation": "query", "query": "SELECT Id FROM Contact"})

    limits = _bulk_limits(api)

    assert limits["DailyBulkV2QueryJobs"] == {"Max": 10000, "Remaining": 10000 - 3}
    assert limits["DailyBulkApiBatches"]["Remaining"] == 15000


def test_jobs_older_than_a_day_and_other_orgs_jobs_do_not_count(
    api: Api, tokens: Any, outsider: Any
) -> None:
    old = ingest(api, "LastName\nOld\n", object="Contact", operation="insert")
    BulkJob.objects.filter(pk=old).update(
        created_date=dt.datetime.now(dt.UTC) - dt.timedelta(hours=24, minutes=1)
    )
    other = Api(tokens.issue(outsider))
    ingest(other, "LastName\nTheirs\n", object="Contact", operation="insert")
    other.post("/jobs/query", {"operation": "query", "query": "SELECT Id FROM Contact"})

    assert _bulk_limits(api) == {
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
    }
    assert _bulk_limits(other)["DailyBulkApiBatches"]["Remaining"] == 15000 - 1


def test_an_ingest_job_is_refused_once_the_daily_batches_are_used_up(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "BATCH_RECORDS", 1)
    monkeypatch.setattr(selectors, "DAILY_BATCHES", 2)  # stands for 15,000
    ingest(api, "LastName\nA\nB\n", object="Contact", operation="insert")  # 2 batches
    before = set(BulkJob.objects.values_list("pk", flat=True))

    response = api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"})

    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "LIMIT_EXCEEDED",
            "message": "Max bulk v2 batches (2) per 24 hrs has been reached (2)",
        }
    ]
    assert set(BulkJob.objects.values_list("pk", flat=True)) == before
    # query jobs draw on their own allocation
    assert api.post("/jobs/query", {"query": "SELECT Id FROM Contact"}).status_code == 200


def test_an_ingest_job_is_accepted_while_a_batch_remains(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "BATCH_RECORDS", 1)
    monkeypatch.setattr(selectors, "DAILY_BATCHES", 2)
    ingest(api, "LastName\nA\n", object="Contact", operation="insert")  # 1 batch

    response = api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"})

    assert response.status_code == 200
    assert response.json()["state"] == "Open"


def test_used_up_batches_of_another_org_or_of_yesterday_do_not_refuse(
    api: Api, tokens: Any, outsider: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "BATCH_RECORDS", 1)
    monkeypatch.setattr(selectors, "DAILY_BATCHES", 1)
    old = ingest(api, "LastName\nOld\n", object="Contact", operation="insert")
    BulkJob.objects.filter(pk=old).update(
        created_date=dt.datetime.now(dt.UTC) - dt.timedelta(hours=24, minutes=1)
    )
    ingest(Api(tokens.issue(outsider)), "LastName\nTheirs\n", object="Contact", operation="insert")

    assert api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"}).status_code == 200


def test_a_query_job_is_refused_once_the_daily_query_jobs_are_used_up(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(selectors, "DAILY_QUERY_JOBS", 2)
    for _ in range(2):
        assert api.post("/jobs/query", {"query": "SELECT Id FROM Contact"}).status_code == 200

    response = api.post("/jobs/query", {"query": "SELECT Id FROM Contact"})

    assert response.status_code == 400
    assert response.json() == [
        {
            "errorCode": "LIMIT_EXCEEDED",
            "message": "Max bulk v2 query jobs (2) per 24 hrs has been reached (2)",
        }
    ]
    assert BulkJob.objects.filter(job_type="V2Query").count() == 2
