"""Bulk API 2.0 bad input: refused in Salesforce's shapes, nothing applied beyond what the job
reports."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tandem.crm.bulk.models import BulkJob, BulkUpload
from tandem.crm.bulk.processing import job_run
from tandem.crm.records.models import Contact
from tests.crm.api.bulk import before_each_row, ingest, put_csv, rows
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


def _error(response: Any) -> tuple[int, str, str]:
    [body] = response.json()
    return response.status_code, body["errorCode"], body["message"]


def _open_job(api: Api, **job: str) -> str:
    options = {"object": "Contact", "operation": "insert", **job}
    job_id: str = api.post("/jobs/ingest", options).json()["id"]
    return job_id


# --- job creation ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code", "words"),
    [
        ({"object": "Nope", "operation": "insert"}, "INVALIDJOB", "Unable to find object: Nope"),
        ({"object": "Contact", "operation": "merge"}, "INVALIDJOB", "Invalid operation"),
        ({"object": "Contact", "operation": "upsert"}, "INVALIDJOB", "externalIdFieldName"),
        (
            {"object": "Contact", "operation": "upsert", "externalIdFieldName": "LastName"},
            "INVALIDJOB",
            "not an external ID",
        ),
        (
            {"object": "Contact", "operation": "insert", "columnDelimiter": "COLON"},
            "INVALIDJOB",
            "columnDelimiter",
        ),
        (
            {"object": "Contact", "operation": "insert", "lineEnding": "CR"},
            "INVALIDJOB",
            "lineEnding",
        ),
        (
            {"object": "Contact", "operation": "insert", "contentType": "JSON"},
            "INVALIDJOB",
            "contentType",
        ),
        ({"object": "Organization", "operation": "insert"}, "INVALIDJOB", "not supported"),
        (
            {"object": "Contact", "operation": "insert", "extra": "x"},
            "JSON_PARSER_ERROR",
            'Unrecognized field "extra"',
        ),
        ([], "JSON_PARSER_ERROR", "JSON object"),
    ],
)
def test_a_bad_ingest_job_is_refused_and_not_made(
    api: Api, body: Any, code: str, words: str
) -> None:
    status, error_code, message = _error(api.post("/jobs/ingest", body))

    assert (status, error_code) == (400, code)
    assert words in message
    assert not BulkJob.objects.exists()


def test_a_query_with_a_syntax_error_is_refused_and_not_made(api: Api) -> None:
    response = api.post("/jobs/query", {"operation": "query", "query": "SELEC Id FROM Contact"})

    status, code, _ = _error(response)
    assert (status, code) == (400, "MALFORMED_QUERY")
    assert not BulkJob.objects.exists()


def test_a_query_of_an_unknown_field_is_invalid_field(api: Api) -> None:
    response = api.post("/jobs/query", {"operation": "query", "query": "SELECT Nope FROM Contact"})

    status, code, message = _error(response)
    assert (status, code) == (400, "INVALID_FIELD")
    assert "No such column 'Nope'" in message
    assert not BulkJob.objects.exists()


# --- uploads ---------------------------------------------------------------------------------


def test_an_upload_to_a_closed_job_is_refused(api: Api) -> None:
    job_id = ingest(api, "LastName\nA\n", object="Contact", operation="insert", run=False)

    status, code, _ = _error(put_csv(api, job_id, "LastName\nB\n"))

    assert (status, code) == (400, "INVALIDJOBSTATE")
    assert bytes(BulkUpload.objects.get(job_id=job_id).data) == b"LastName\nA\n"


def test_a_second_upload_is_refused_and_the_first_kept(api: Api) -> None:
    job_id = _open_job(api)
    put_csv(api, job_id, "LastName\nA\n")

    status, code, _ = _error(put_csv(api, job_id, "LastName\nB\n"))

    assert (status, code) == (400, "BULK_API_ERROR")
    assert bytes(BulkUpload.objects.get(job_id=job_id).data) == b"LastName\nA\n"


@override_settings(CRM_BULK_UPLOAD_MAX_BYTES=1024)
def test_an_upload_over_the_limit_is_refused_and_not_kept(api: Api) -> None:
    job_id = _open_job(api)

    response = put_csv(api, job_id, "LastName\n" + "x\n" * 1000)

    assert _error(response)[:2] == (413, "InvalidBatch")
    assert not BulkUpload.objects.exists()


def test_a_chunked_upload_over_the_limit_is_refused_in_the_bulk_dialect() -> None:
    from tandem.crm.refusals import crm_body_limit, crm_refusal

    path = f"{V}/jobs/ingest/7500000000000000AA/batches"
    status, content_type, body = crm_refusal(path, 413, "request body too large")

    assert crm_body_limit(path) == 100 * 1024 * 1024
    assert crm_body_limit(f"{V}/sobjects/Contact") < crm_body_limit(path)
    assert (status, content_type) == (413, "application/json")
    assert b'"errorCode": "InvalidBatch"' in body


# --- whole-upload problems: the job fails, nothing is applied ---------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ("LastName,Nope\nA,b\n", "Field name not found : Nope"),
        ("LastName,lastname\nA,B\n", "Duplicate field name : LastName"),
        ("LastName,Email\nA,a@x.test\nB\nC,c@x.test\n", "line 3 has 1 columns"),
        ("LastName,Email\nA,a@x.test\nB,b@x.test,extra\n", "line 3 has 3 columns"),
        (b"LastName\nA\n".decode() + '"B"x\n', "Invalid CSV on line 3"),
        ("", "no header row"),
    ],
)
def test_a_bad_upload_fails_the_job_and_applies_no_row(api: Api, data: str, words: str) -> None:
    job_id = ingest(api, data, object="Contact", operation="insert")

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "Failed"
    assert info["errorMessage"].startswith("InvalidBatch : ")
    assert words in info["errorMessage"]
    assert info["numberRecordsProcessed"] == 0
    assert not Contact.objects.exists()


def test_a_wrong_encoding_fails_the_job_and_returns_the_rows_unprocessed(api: Api) -> None:
    data = "LastName\nMüller\nZoë\n".encode("latin-1")

    job_id = ingest(api, data, object="Contact", operation="insert")

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "Failed"
    assert "not valid UTF-8" in info["errorMessage"]
    assert not Contact.objects.exists()
    assert api.get(f"/jobs/ingest/{job_id}/unprocessedrecords").content == data


def test_delete_with_other_columns_fails_the_job(api: Api) -> None:
    contact = api.post("/sobjects/Contact", {"LastName": "A"}).json()["id"]

    job_id = ingest(api, f"Id,LastName\n{contact},A\n", object="Contact", operation="delete")

    assert api.get(f"/jobs/ingest/{job_id}").json()["state"] == "Failed"
    assert Contact.objects.get().is_deleted is False


def test_closing_without_an_upload_fails_the_job(api: Api) -> None:
    job_id = _open_job(api)
    api.patch(f"/jobs/ingest/{job_id}", {"state": "UploadComplete"})
    job_run(job_id)

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "Failed"
    assert "No data" in info["errorMessage"]


# --- state changes ---------------------------------------------------------------------------


def test_abort_in_progress_stops_the_job_at_the_next_chunk(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tandem.crm.bulk import processing

    monkeypatch.setattr(processing, "INGEST_CHUNK", 2)

    monkeypatch.setattr(processing, "FAST_INGEST_CHUNK", 2)
    job_id = ingest(
        api, "LastName\nA\nB\nC\nD\nE\nF\n", object="Contact", operation="insert", run=False
    )
    real_chunk = processing.ingest_chunk

    def abort_after_two_chunks(job: Any, token: str, plan: Any, position: int, *rest: Any) -> Any:
        if position == 4:  # the user aborts after the second chunk committed
            response = api.patch(f"/jobs/ingest/{job_id}", {"state": "Aborted"})
            assert response.json()["state"] == "Aborted"
        return real_chunk(job, token, plan, position, *rest)

    monkeypatch.setattr(processing, "ingest_chunk", abort_after_two_chunks)
    assert job_run(job_id) is processing.Outcome.LOST

    info = api.get(f"/jobs/ingest/{job_id}").json()
    assert info["state"] == "Aborted"
    assert info["numberRecordsProcessed"] == 4
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == ["A", "B", "C", "D"]
    done = rows(api.get(f"/jobs/ingest/{job_id}/successfulResults"))
    assert [r["LastName"] for r in done] == ["A", "B", "C", "D"]
    unprocessed = rows(api.get(f"/jobs/ingest/{job_id}/unprocessedrecords"))
    assert [r["LastName"] for r in unprocessed] == ["E", "F"]


def test_an_abort_inside_a_chunk_rolls_that_chunk_back(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cannot happen across connections (the chunk locks the job); the guard holds anyway."""
    from tandem.crm.bulk import processing

    monkeypatch.setattr(processing, "INGEST_CHUNK", 2)

    monkeypatch.setattr(processing, "FAST_INGEST_CHUNK", 2)
    job_id = ingest(api, "LastName\nA\nB\nC\n", object="Contact", operation="insert", run=False)

    def aborted_meanwhile(row: list[str]) -> None:
        if row[0] == "C":
            BulkJob.objects.filter(pk=job_id).update(state="Aborted")

    before_each_row(monkeypatch, aborted_meanwhile)

    assert job_run(job_id) is processing.Outcome.LOST
    assert sorted(Contact.objects.values_list("last_name", flat=True)) == ["A", "B"]
    assert BulkJob.objects.get(pk=job_id).records_processed == 2


def test_aborting_a_finished_job_is_refused(api: Api) -> None:
    job_id = ingest(api, "LastName\nA\n", object="Contact", operation="insert")

    status, code, message = _error(api.patch(f"/jobs/ingest/{job_id}", {"state": "Aborted"}))

    assert (status, code) == (400, "INVALIDJOBSTATE")
    assert "JobComplete" in message
    assert api.get(f"/jobs/ingest/{job_id}").json()["state"] == "JobComplete"


def test_an_aborted_job_is_never_run(api: Api) -> None:
    job_id = ingest(api, "LastName\nA\n", object="Contact", operation="insert", run=False)
    api.patch(f"/jobs/ingest/{job_id}", {"state": "Aborted"})

    job_run(job_id)

    assert not Contact.objects.exists()
    assert api.get(f"/jobs/ingest/{job_id}").json()["state"] == "Aborted"


@pytest.mark.parametrize("state", ["JobComplete", "InProgress", "Open", "Failed", 3])
def test_other_state_changes_are_refused(api: Api, state: Any) -> None:
    job_id = _open_job(api)

    status, code, _ = _error(api.patch(f"/jobs/ingest/{job_id}", {"state": state}))

    assert (status, code) == (400, "INVALIDJOBSTATE")
    assert BulkJob.objects.get(pk=job_id).state == "Open"


def test_deleting_an_open_job_is_refused(api: Api) -> None:
    job_id = _open_job(api)

    assert _error(api.delete(f"/jobs/ingest/{job_id}"))[:2] == (400, "INVALIDJOBSTATE")
    assert BulkJob.objects.filter(pk=job_id).exists()


def test_results_of_an_unfinished_query_job_are_refused(api: Api) -> None:
    job_id = api.post("/jobs/query", {"query": "SELECT Id FROM Contact"}).json()["id"]

    assert _error(api.get(f"/jobs/query/{job_id}/results"))[:2] == (400, "INVALIDJOBSTATE")


@pytest.mark.parametrize(
    "params", ["locator=bogus", "locator=OTk5", "maxRecords=0", "maxRecords=abc"]
)
def test_a_bad_locator_or_page_size_is_refused(api: Api, params: str) -> None:
    job_id = api.post("/jobs/query", {"query": "SELECT Id FROM Contact"}).json()["id"]
    job_run(job_id)

    status, _, _ = _error(api.get(f"/jobs/query/{job_id}/results?{params}"))

    assert status == 400


def test_bulk_2_does_not_exist_before_version_41(api: Api) -> None:
    response = api.client.get("/services/data/v40.0/jobs/ingest", headers=api.headers)

    assert _error(response)[:2] == (404, "NOT_FOUND")
