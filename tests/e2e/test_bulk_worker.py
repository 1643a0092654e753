"""Bulk API 2.0 through the live stack: `tandem up`'s CRM worker runs the jobs the web process
queues on the real broker. The upload is streamed (chunked), as jsforce and sf send it."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.bulk_tools import bulk_token, finished, jobs_client
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def api(stack: RunningStack) -> httpx.Client:
    return jobs_client(stack, bulk_token(stack))


def _streamed(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_an_ingest_job_runs_on_the_crm_worker(api: httpx.Client) -> None:
    job = api.post("/ingest", json={"object": "Account", "operation": "insert"}).json()
    data = (
        "Name,NumberOfEmployees\n" + "".join(f"Bulk {n},{n}\n" for n in range(500)) + ",7\n"
    ).encode()

    upload = api.put(
        f"/ingest/{job['id']}/batches",
        content=_streamed(data),
        headers={"Content-Type": "text/csv"},
    )
    closed = api.patch(f"/ingest/{job['id']}", json={"state": "UploadComplete"})
    info = finished(api, f"/ingest/{job['id']}")

    assert upload.request.headers.get("Transfer-Encoding") == "chunked"
    assert (upload.status_code, closed.status_code) == (201, 200)
    assert info["state"] == "JobComplete"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (501, 1)
    done = _rows(api.get(f"/ingest/{job['id']}/successfulResults").text)
    assert len(done) == 500
    assert all(r["sf__Id"].startswith("001") for r in done)
    [failed] = _rows(api.get(f"/ingest/{job['id']}/failedResults").text)
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")


def test_a_query_job_pages_its_results_until_the_locator_is_null(api: httpx.Client) -> None:
    soql = "SELECT Name FROM Account WHERE Name LIKE 'Bulk %'"
    job = api.post("/query", json={"operation": "query", "query": soql})
    info = finished(api, f"/query/{job.json()['id']}")

    names: list[str] = []
    locator = ""
    for _ in range(10):
        params = {"maxRecords": "200", **({"locator": locator} if locator else {})}
        page = api.get(f"/query/{info['id']}/results", params=params)
        names += [r["Name"] for r in _rows(page.text)]
        locator = page.headers["Sforce-Locator"]
        if locator == "null":
            break

    assert info["state"] == "JobComplete"
    assert sorted(names) == sorted(f"Bulk {n}" for n in range(500))
