"""Ingest job creation in one multipart/form-data request: a `job` part (the job's JSON) and a
`content` part (its CSV). The job is created with its data and closed at once; a request with a
missing or wrong part is refused in Salesforce's error shape and stores nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings

from tandem.crm.bulk.models import BulkJob, BulkUpload
from tandem.crm.bulk.processing import job_run
from tandem.crm.records.models import Contact
from tests.crm.api.bulk import rows
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db

JOB = {"object": "Contact", "operation": "insert"}
CSV_DATA = b"LastName,Email\nAda,ada@example.com\nGrace,grace@example.com\n"


def _csv_part(data: bytes = CSV_DATA, content_type: str = "text/csv") -> SimpleUploadedFile:
    return SimpleUploadedFile("content", data, content_type=content_type)


def _json_part(job: Any = JOB) -> SimpleUploadedFile:
    return SimpleUploadedFile("job", json.dumps(job).encode(), content_type="application/json")


def _create(api: Api, parts: dict[str, Any]) -> Any:
    # The test client encodes a dict as multipart/form-data; files carry their own type.
    return api.client.post(f"{V}/jobs/ingest", parts, headers=api.headers)


def _error(response: Any) -> tuple[int, str, str]:
    [body] = response.json()
    return response.status_code, body["errorCode"], body["message"]


def test_a_multipart_request_creates_a_closed_job_with_its_data(api: Api) -> None:
    response = _create(api, {"job": _json_part(), "content": _csv_part()})

    assert response.status_code == 200, response.content
    info = response.json()
    assert (info["state"], info["object"], info["operation"]) == (
        "UploadComplete",
        "Contact",
        "insert",
    )
    assert bytes(BulkUpload.objects.get(job_id=info["id"]).data) == CSV_DATA
    job_run(info["id"])
    assert api.get(f"/jobs/ingest/{info['id']}").json()["state"] == "JobComplete"
    assert sorted(Contact.objects.values_list("last_name", "email")) == [
        ("Ada", "ada@example.com"),
        ("Grace", "grace@example.com"),
    ]
    done = rows(api.get(f"/jobs/ingest/{info['id']}/successfulResults"))
    assert [r["LastName"] for r in done] == ["Ada", "Grace"]


def test_the_parts_may_be_plain_form_fields(api: Api) -> None:
    job = {**JOB, "columnDelimiter": "SEMICOLON"}
    response = _create(api, {"job": json.dumps(job), "content": "LastName;Title\nKay;Dr\n"})

    assert response.status_code == 200, response.content
    job_run(response.json()["id"])
    assert list(Contact.objects.values_list("last_name", "title")) == [("Kay", "Dr")]


def test_a_job_already_uploaded_refuses_a_second_upload(api: Api) -> None:
    job_id = _create(api, {"job": _json_part(), "content": _csv_part()}).json()["id"]

    response = api.client.put(
        f"{V}/jobs/ingest/{job_id}/batches",
        b"LastName\nX\n",
        content_type="text/csv",
        headers=api.headers,
    )

    assert _error(response)[:2] == (400, "INVALIDJOBSTATE")
    assert BulkUpload.objects.count() == 1


@pytest.mark.parametrize(
    ("parts", "status", "code", "words"),
    [
        (
            {"content": "x"},
            400,
            "INVALIDJOB",
            "InvalidJob : The multipart request has no part named job",
        ),
        (
            {"job": "J"},
            400,
            "INVALIDJOB",
            "InvalidJob : The multipart request has no part named content",
        ),
        (
            {"job": "J", "content": "C:application/json"},
            400,
            "INVALIDJOB",
            "InvalidJob : The content part must be text/csv, not application/json",
        ),
        ({"job": "{not json", "content": "C"}, 400, "JSON_PARSER_ERROR", "Unexpected character"),
        (
            {"job": '{"object": "Contact", "operation": "insert", "bogus": "1"}', "content": "C"},
            400,
            "JSON_PARSER_ERROR",
            'Unrecognized field "bogus"',
        ),
        (
            {"job": '{"object": "Nope", "operation": "insert"}', "content": "C"},
            400,
            "INVALIDJOB",
            "InvalidJob : Unable to find object: Nope",
        ),
        (
            {"job": '{"object": "Contact", "operation": "merge"}', "content": "C"},
            400,
            "INVALIDJOB",
            "InvalidJob : Invalid operation: merge",
        ),
    ],
)
def test_a_bad_multipart_request_is_refused_and_stores_nothing(
    api: Api, parts: dict[str, str], status: int, code: str, words: str
) -> None:
    built: dict[str, Any] = {}
    for name, value in parts.items():
        if value == "J":
            built[name] = _json_part()
        elif value.startswith("C"):
            built[name] = _csv_part(content_type=value[2:] or "text/csv")
        else:
            built[name] = value

    got_status, got_code, message = _error(_create(api, built))

    assert (got_status, got_code) == (status, code)
    assert message.startswith(words) if words.startswith("I") else words in message
    assert not BulkJob.objects.exists()
    assert not BulkUpload.objects.exists()


@override_settings(CRM_BULK_UPLOAD_MAX_BYTES=1024)
def test_content_over_the_upload_limit_is_refused_and_stores_nothing(api: Api) -> None:
    big = b"LastName\n" + b"x\n" * 1000

    response = _create(api, {"job": _json_part(), "content": _csv_part(big)})

    assert _error(response)[:2] == (413, "InvalidBatch")
    assert not BulkJob.objects.exists()
    assert not BulkUpload.objects.exists()


def test_a_broken_multipart_body_is_refused(api: Api) -> None:
    response = api.client.post(
        f"{V}/jobs/ingest",
        b"--nope\r\nno headers at all",
        content_type="multipart/form-data",
        headers=api.headers,
    )

    assert _error(response)[:2] == (400, "INVALIDJOB")
    assert not BulkJob.objects.exists()


def test_a_chunked_create_may_carry_the_upload_limit() -> None:
    from tandem.crm.refusals import crm_body_limit, crm_refusal

    path = f"{V}/jobs/ingest"
    assert crm_body_limit(path) == 101 * 1024 * 1024
    status, _, body = crm_refusal(path, 413, "request body too large")
    assert status == 413
    assert b'"errorCode": "InvalidBatch"' in body


def test_a_multipart_create_needs_no_csrf_token(api: Api) -> None:
    """A form post from a client that enforces CSRF checks as a browser session would: the
    API authenticates by bearer token, so the endpoint is CSRF-exempt."""
    strict = Client(enforce_csrf_checks=True)

    response = strict.post(
        f"{V}/jobs/ingest", {"job": _json_part(), "content": _csv_part()}, headers=api.headers
    )

    assert response.status_code == 200, response.content
    assert BulkJob.objects.get().state == "UploadComplete"
