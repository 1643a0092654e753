"""A Bulk API job whose worker dies mid-run resumes at its last committed chunk, and no row is
applied twice; two runs never work on one job at once."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import pytest

from tandem.crm.bulk import processing
from tandem.crm.bulk.models import BulkJob, BulkQueryChunk, BulkRowResult
from tandem.crm.bulk.processing import Outcome, job_run
from tandem.crm.records.models import Contact
from tests.crm.api.bulk import before_each_row, ingest, rows
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


class WorkerKilled(BaseException):
    """Stands for the process dying: nothing in the run may catch it."""


def _lease_ends(job_id: str) -> None:
    BulkJob.objects.filter(pk=job_id).update(
        claimed_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    )


OPERATIONS = [
    pytest.param({"operation": "insert"}, id="insert-in-one-statement"),
    pytest.param(
        {"operation": "upsert", "externalIdFieldName": "External_Id__c"}, id="upsert-row-by-row"
    ),
]


def _upload(names: list[str]) -> str:
    return "LastName,External_Id__c\n" + "".join(f"{n},key-{n}\n" for n in names)


@pytest.mark.parametrize("job", OPERATIONS)
def test_a_killed_ingest_run_resumes_without_applying_a_row_twice(
    api: Api, monkeypatch: pytest.MonkeyPatch, job: dict[str, str]
) -> None:
    monkeypatch.setattr(processing, "INGEST_CHUNK", 2)
    monkeypatch.setattr(processing, "FAST_INGEST_CHUNK", 2)
    names = ["A", "B", "C", "D", "E", "F", "G"]
    job_id = ingest(api, _upload(names), object="Contact", run=False, **job)

    def dies_on_d(row: list[str]) -> None:
        if row[0] == "D":
            raise WorkerKilled

    stop = before_each_row(monkeypatch, dies_on_d)
    with pytest.raises(WorkerKilled):
        job_run(job_id)
    stopped = BulkJob.objects.get(pk=job_id)
    assert (stopped.state, stopped.records_processed) == ("InProgress", 2)
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == ["A", "B"]

    stop()
    assert job_run(job_id) is Outcome.BUSY  # the dead run's lease still holds the job
    _lease_ends(job_id)
    assert job_run(job_id) is Outcome.DONE

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "JobComplete"
    assert info["numberRecordsProcessed"] == 7
    assert info["retries"] == 1
    assert Counter(Contact.objects.values_list("last_name", flat=True)) == Counter(names)
    assert sorted(BulkRowResult.objects.filter(job_id=job_id).values_list("row", flat=True)) == [
        0,
        1,
        2,
        3,
        4,
        5,
        6,
    ]
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [r["LastName"] for r in done] == names
    assert all(r["sf__Created"] == "true" for r in done)


def test_a_killed_query_run_resumes_after_its_last_chunk(
    api: Api, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processing, "QUERY_CHUNK", 2)
    monkeypatch.setattr(processing, "FAST_QUERY_CHUNK", 2)
    made = [
        Contact.objects.create(org=admin.org, owner=admin, last_name=f"C{n}", name=f"C{n}")
        for n in range(5)
    ]
    job_id = api.post("/jobs/query", {"query": "SELECT Id FROM Contact"}).json()["id"]
    real_lines = processing.lines
    calls = {"n": 0}

    def dies_on_second_chunk(*args: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled
        return real_lines(*args)

    monkeypatch.setattr(processing, "lines", dies_on_second_chunk)
    real_store = processing.fastquery.store_chunk

    def fast_dies_on_second_chunk(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise WorkerKilled
        return real_store(*args, **kwargs)

    monkeypatch.setattr(processing.fastquery, "store_chunk", fast_dies_on_second_chunk)
    with pytest.raises(WorkerKilled):
        job_run(job_id)
    assert BulkJob.objects.get(pk=job_id).records_processed == 2
    _lease_ends(job_id)
    assert job_run(job_id) is Outcome.DONE

    got = [r["Id"] for r in rows(api.get(f"/jobs/query/{job_id}/results"))]
    assert sorted(got) == sorted(c.pk for c in made)
    assert BulkQueryChunk.objects.filter(job_id=job_id).count() == 3


@pytest.mark.parametrize("job", OPERATIONS)
def test_a_run_that_lost_its_claim_commits_nothing_more(
    api: Api, monkeypatch: pytest.MonkeyPatch, job: dict[str, str]
) -> None:
    monkeypatch.setattr(processing, "INGEST_CHUNK", 1)
    monkeypatch.setattr(processing, "FAST_INGEST_CHUNK", 1)
    job_id = ingest(api, _upload(["A", "B"]), object="Contact", run=False, **job)

    def another_run_takes_over(row: list[str]) -> None:
        BulkJob.objects.filter(pk=job_id).update(claim_token="someone-else")

    before_each_row(monkeypatch, another_run_takes_over)

    assert job_run(job_id) is Outcome.LOST
    assert not Contact.objects.exists()  # its chunk rolled back with the lost claim
    assert not BulkRowResult.objects.exists()
    assert BulkJob.objects.get(pk=job_id).records_processed == 0


def test_each_committed_chunk_extends_the_claim_by_the_configured_lease(
    api: Api, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.CRM_BULK_LEASE_SECONDS = 17  # TANDEM_BULK_LEASE_SECONDS
    monkeypatch.setattr(processing, "INGEST_CHUNK", 2)
    monkeypatch.setattr(processing, "FAST_INGEST_CHUNK", 2)
    job_id = ingest(api, _upload(["A", "B", "C"]), object="Contact", run=False, operation="insert")

    def dies_on_c(row: list[str]) -> None:
        if row[0] == "C":
            raise WorkerKilled

    before_each_row(monkeypatch, dies_on_c)
    with pytest.raises(WorkerKilled):
        job_run(job_id)

    stopped = BulkJob.objects.get(pk=job_id)
    assert stopped.records_processed == 2
    assert stopped.claimed_until is not None
    assert stopped.claimed_until - stopped.system_modstamp == dt.timedelta(seconds=17)
