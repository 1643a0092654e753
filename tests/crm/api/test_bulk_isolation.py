"""Attack: another org's token never sees or touches a Bulk job."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.bulk.models import BulkJob, BulkUpload
from tandem.crm.bulk.processing import job_run
from tandem.crm.records.models import Contact
from tests.crm.api.bulk import ingest, put_csv
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


@pytest.fixture
def intruder(tokens: Any, outsider: Any) -> Api:
    return Api(tokens.issue(outsider))


def _not_found(response: Any) -> bool:
    return response.status_code == 404 and response.json()[0]["errorCode"] == "NOT_FOUND"


def test_another_org_cannot_read_an_ingest_job_or_its_results(api: Api, intruder: Api) -> None:
    job_id = ingest(
        api, "LastName,Email\nA,secret@acme.test\n", object="Contact", operation="insert"
    )

    for path in ("", "/successfulResults", "/failedResults", "/unprocessedrecords"):
        response = intruder.get(f"/jobs/ingest/{job_id}{path}")
        assert _not_found(response), path
        assert b"secret" not in response.content
    assert intruder.get("/jobs/ingest").json()["records"] == []


def test_another_org_cannot_upload_close_abort_or_delete(api: Api, intruder: Api) -> None:
    job_id = api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"}).json()["id"]

    assert _not_found(put_csv(intruder, job_id, "LastName\nPlanted\n"))
    assert _not_found(intruder.patch(f"/jobs/ingest/{job_id}", {"state": "UploadComplete"}))
    assert _not_found(intruder.patch(f"/jobs/ingest/{job_id}", {"state": "Aborted"}))
    assert _not_found(intruder.delete(f"/jobs/ingest/{job_id}"))

    job = BulkJob.objects.get(pk=job_id)
    assert job.state == "Open"
    assert not BulkUpload.objects.exists()


def test_another_org_cannot_read_or_abort_a_query_job(api: Api, intruder: Api, admin: Any) -> None:
    Contact.objects.create(org=admin.org, owner=admin, last_name="Secret", name="Secret")
    job_id = api.post("/jobs/query", {"query": "SELECT LastName FROM Contact"}).json()["id"]
    job_run(job_id)

    assert _not_found(intruder.get(f"/jobs/query/{job_id}"))
    assert _not_found(intruder.get(f"/jobs/query/{job_id}/results"))
    assert _not_found(intruder.patch(f"/jobs/query/{job_id}", {"state": "Aborted"}))
    assert _not_found(intruder.delete(f"/jobs/query/{job_id}"))
    assert intruder.get("/jobs/query").json()["records"] == []
    assert BulkJob.objects.filter(pk=job_id, state="JobComplete").exists()


def test_an_ingest_job_id_is_not_a_query_job(api: Api) -> None:
    job_id = api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"}).json()["id"]

    assert _not_found(api.get(f"/jobs/query/{job_id}"))


def test_a_query_job_reads_its_own_org_only(api: Api, intruder: Api, outsider: Any) -> None:
    Contact.objects.create(org=outsider.org, owner=outsider, last_name="Theirs", name="Theirs")

    job_id = api.post("/jobs/query", {"query": "SELECT LastName FROM Contact"}).json()["id"]
    job_run(job_id)

    assert api.get(f"/jobs/query/{job_id}/results").content == b'"LastName"\n'


def test_unauthenticated_calls_are_refused(api: Api) -> None:
    response = api.client.get("/services/data/v59.0/jobs/ingest")

    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
