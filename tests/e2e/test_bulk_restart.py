"""kill -9 of the CRM worker in the middle of a Bulk ingest job: the worker started again
resumes the job at its last committed chunk, and every row is applied exactly once (ADR 0540).
The stack's parts are in the test's hands (`controlled_stack`): the CRM web and the broker go
on while the worker is dead."""

from __future__ import annotations

import csv
import io
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import dj_database_url
import psycopg
import pytest

from tandem.crm.bulk.processing import INGEST_CHUNK
from tests.e2e.bulk_tools import bulk_token, crm_shell, finished, jobs_client
from tests.e2e.stack import RunningStack, controlled_stack
from tests.e2e.waiting import wait_for

pytestmark = pytest.mark.e2e

ROWS = 2500  # five chunks, applied row by row (an upsert): seconds of work to stop midway
# A dead run's claim lapses after this; the restarted worker then resumes the job.
ENV = {"TANDEM_BULK_LEASE_SECONDS": "10"}
JOB_STATE = r"""
import json, os
from tandem.crm.bulk.models import BulkJob, BulkRowResult
from tandem.crm.records.models import Contact
job = BulkJob.objects.get(pk=os.environ["JOB_ID"])
keys = list(Contact.objects.filter(org=job.org).values_list("external_id", flat=True))
results = BulkRowResult.objects.filter(job=job).count()
print(json.dumps({"state": job.state, "processed": job.records_processed,
                  "total": job.records_total, "results": results,
                  "contacts": len(keys), "distinct": len(set(keys))}))
"""


@contextmanager
def _progress(stack: RunningStack, job_id: str) -> Iterator[Callable[[], int]]:
    """The job's committed progress, read from the CRM database itself: on SQLite an API call
    waits for the worker's write lock (each call is metered), so a poll through the API may
    first see the job finished."""
    sql = "SELECT records_processed FROM crm_bulk_bulkjob WHERE id = {}"
    url = stack.env.get("TANDEM_CRM_DATABASE_URL", "")
    if url.startswith("postgres"):
        with psycopg.connect(url, autocommit=True) as pg:
            yield lambda: int(pg.execute(sql.format("%s"), (job_id,)).fetchone()[0])  # type: ignore[index]
        return
    path = dj_database_url.parse(url)["NAME"] if url else stack.var_dir / "crm.sqlite3"
    lite = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        yield lambda: int(lite.execute(sql.format("?"), (job_id,)).fetchone()[0])
    finally:
        lite.close()


def test_a_job_whose_worker_is_killed_resumes_on_a_new_worker_and_applies_each_row_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    data = "LastName,External_Id__c\n" + "".join(f"Row {n},key-{n}\n" for n in range(ROWS))
    with controlled_stack(tmp_path_factory.mktemp("bulk-restart"), ENV) as parts:
        stack = parts.stack
        api = jobs_client(stack, bulk_token(stack))
        upsert = {
            "object": "Contact",
            "operation": "upsert",
            "externalIdFieldName": "External_Id__c",
        }
        job = api.post("/ingest", json=upsert).json()
        path = f"/ingest/{job['id']}"
        assert (
            api.put(
                f"{path}/batches", content=data.encode(), headers={"Content-Type": "text/csv"}
            ).status_code
            == 201
        )
        assert api.patch(path, json={"state": "UploadComplete"}).status_code == 200
        with _progress(stack, job["id"]) as processed:
            wait_for(lambda: processed() > 0, 120, interval=0.02, what="a first chunk")

        parts.kill("crm-worker")  # kill -9, its Celery pool with it
        at_kill = crm_shell(stack, JOB_STATE, JOB_ID=job["id"])
        parts.start("crm-worker")  # resumes unfinished jobs as it starts
        info = finished(api, path)
        done = list(csv.DictReader(io.StringIO(api.get(f"{path}/successfulResults").text)))
        after = crm_shell(stack, JOB_STATE, JOB_ID=job["id"])

    # Killed midway: whole chunks committed, the chunk in flight left nothing behind.
    assert at_kill["state"] == "InProgress"
    assert 0 < at_kill["processed"] < at_kill["total"] == ROWS
    assert at_kill["processed"] % INGEST_CHUNK == 0
    assert at_kill["contacts"] == at_kill["results"] == at_kill["processed"]
    # Resumed to the end, each row applied once: one record per key, each created by its row.
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (ROWS, 0)
    assert info["retries"] >= 1
    assert after["contacts"] == after["distinct"] == after["results"] == ROWS
    assert sorted(r["External_Id__c"] for r in done) == sorted(f"key-{n}" for n in range(ROWS))
    assert len({r["sf__Id"] for r in done}) == ROWS
    assert {r["sf__Created"] for r in done} == {"true"}
