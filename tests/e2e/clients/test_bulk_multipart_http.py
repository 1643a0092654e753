"""Multipart Bulk API 2.0 job creation over real HTTP (the CRM server and its worker): a
`job` part and a `content` part, sent with a Content-Length and chunked; the worker runs the
job and the rows arrive. Not a client test: no client in the table sends multipart."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx

from tests.e2e.clients.conftest import tagged_contacts

JOB = {"object": "Contact", "operation": "insert"}


def _csv(tag: str, count: int) -> bytes:
    lines = ["LastName,External_Id__c", *(f"{tag} {n},{tag}-{n}" for n in range(count))]
    return ("\n".join(lines) + "\n").encode()


def _finished(crm_url: str, token: dict[str, Any], job_id: str) -> dict[str, Any]:
    """The job once the worker has finished it (polled; the deadline only bounds a hang)."""
    deadline = time.monotonic() + 120
    while True:
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        url = f"{crm_url}/services/data/v59.0/jobs/ingest/{job_id}"
        info = httpx.get(url, timeout=60, headers=headers).json()
        if info["state"] in ("JobComplete", "Failed", "Aborted") or time.monotonic() > deadline:
            return dict(info)
        time.sleep(0.5)


def test_bulk_multipart_create_with_a_content_length(
    crm_url: str, api_token: dict[str, Any]
) -> None:
    tag = f"mp{secrets.token_hex(4)}"
    response = httpx.post(
        f"{crm_url}/services/data/v59.0/jobs/ingest",
        timeout=60,
        headers={"Authorization": f"Bearer {api_token['access_token']}"},
        files={
            "job": ("job", json.dumps(JOB), "application/json"),
            "content": ("content", _csv(tag, 30), "text/csv"),
        },
    )

    assert response.status_code == 200, response.text
    assert response.json()["state"] == "UploadComplete"
    info = _finished(crm_url, api_token, response.json()["id"])
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 30)
    assert len(tagged_contacts(crm_url, api_token, tag)) == 30


def test_bulk_multipart_create_sent_chunked(crm_url: str, api_token: dict[str, Any]) -> None:
    tag = f"mc{secrets.token_hex(4)}"
    boundary = secrets.token_hex(8)
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="job"\r\n'
            f"Content-Type: application/json\r\n\r\n{json.dumps(JOB)}\r\n"
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; filename="content"'
            f"\r\nContent-Type: text/csv\r\n\r\n"
        ).encode()
        + _csv(tag, 20)
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def pieces() -> Iterator[bytes]:  # an iterator: httpx sends it chunked, with no length
        yield from (body[i : i + 100] for i in range(0, len(body), 100))

    response = httpx.post(
        f"{crm_url}/services/data/v59.0/jobs/ingest",
        content=pieces(),
        timeout=60,
        headers={
            "Authorization": f"Bearer {api_token['access_token']}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )

    assert response.status_code == 200, response.text
    info = _finished(crm_url, api_token, response.json()["id"])
    assert (info["state"], info["numberRecordsProcessed"]) == ("JobComplete", 20)
    assert len(tagged_contacts(crm_url, api_token, tag)) == 20
