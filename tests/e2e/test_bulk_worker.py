"""Bulk API 2.0 through the live stack: `tandem up`'s CRM worker runs the jobs the web process
queues on the real broker. The upload is streamed (chunked), as jsforce and sf send it."""

from __future__ import annotations

import csv
import io
import json
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e

PASSWORD = "Bulk-e2e-password-1"
SETUP = """
import json, os
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import connected_app_create
from tandem.crm.orgs.models import TrustedIpRange
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile
from tandem.crm.users.services import user_create
org = org_create(name="Bulk Org", my_domain=os.environ["BULK_DOMAIN"])
org.allow_username_password_flows = True
org.save()
TrustedIpRange.objects.create(org=org, start_address="127.0.0.1", end_address="127.0.0.1")
user_create(org=org, actor=None, username=os.environ["BULK_USER"], email=os.environ["BULK_USER"],
            last_name="Bulk", profile=Profile.objects.get(org=org, name="System Administrator"),
            password=os.environ["BULK_PASSWORD"])
created = connected_app_create(org=org, actor=None, name="Bulk Client",
                               callback_urls=["https://client.example/cb"], scopes=["api"])
ConnectedApp.objects.filter(pk=created.app.pk).update(
    authorization_grant_type=ConnectedApp.GRANT_PASSWORD)
print(json.dumps({"key": created.app.client_id, "secret": created.consumer_secret}))
"""
WAIT_SECONDS = 90


@pytest.fixture(scope="module")
def api(stack: RunningStack) -> httpx.Client:
    suffix = secrets.token_hex(3)
    username = f"bulk{suffix}@example.test"
    env = {**stack.env, "TANDEM_SERVICE": "crm", "BULK_DOMAIN": f"bulk{suffix}",
           "BULK_USER": username, "BULK_PASSWORD": PASSWORD}  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", SETUP], env=env,
        cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True,
    )  # fmt: skip
    app = json.loads(done.stdout.strip().splitlines()[-1])
    token = httpx.post(f"{stack.crm_url}/services/oauth2/token", data={
        "grant_type": "password", "client_id": app["key"], "client_secret": app["secret"],
        "username": username, "password": PASSWORD,
    }, timeout=30)  # fmt: skip
    assert token.status_code == 200, token.text
    return httpx.Client(
        base_url=f"{stack.crm_url}/services/data/v62.0/jobs",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"}, timeout=30,
    )  # fmt: skip


def _streamed(data: bytes) -> Iterator[bytes]:
    for start in range(0, len(data), 4096):
        yield data[start : start + 4096]


def _finished(api: httpx.Client, path: str) -> dict[str, Any]:
    """Poll the job as clients do until it leaves UploadComplete/InProgress."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        info = api.get(path).json()
        if info["state"] not in ("UploadComplete", "InProgress"):
            return dict(info)
        time.sleep(0.5)
    pytest.fail(f"{path} did not finish: {info}")


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_an_ingest_job_runs_on_the_crm_worker(api: httpx.Client) -> None:
    job = api.post("/ingest", json={"object": "Account", "operation": "insert"}).json()
    data = ("Name,NumberOfEmployees\n" + "".join(f"Bulk {n},{n}\n" for n in range(500))
            + ",7\n").encode()  # fmt: skip

    upload = api.put(f"/ingest/{job['id']}/batches", content=_streamed(data),
                     headers={"Content-Type": "text/csv"})  # fmt: skip
    closed = api.patch(f"/ingest/{job['id']}", json={"state": "UploadComplete"})
    info = _finished(api, f"/ingest/{job['id']}")

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
    info = _finished(api, f"/query/{job.json()['id']}")

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
