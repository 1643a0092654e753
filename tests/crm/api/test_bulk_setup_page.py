"""Setup → Bulk Data Load Jobs: admins only, their org's jobs with progress."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.crm.api.bulk import ingest
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_standard_user_is_refused(standard_user: Any) -> None:
    assert _client(standard_user).get("/setup/bulk-data-load-jobs/").status_code == 403


def test_admin_sees_the_orgs_jobs_with_progress(
    api: Api, admin: Any, tokens: Any, outsider: Any
) -> None:
    done = ingest(api, "LastName,Email\nA,\n,b@x.test\n", object="Contact", operation="insert")
    waiting = api.post("/jobs/query", {"query": "SELECT Id FROM Account"}).json()["id"]
    theirs = ingest(
        Api(tokens.issue(outsider)), "LastName\nZ\n", object="Contact", operation="insert"
    )

    body = _client(admin).get("/setup/bulk-data-load-jobs/").content.decode()

    assert done in body
    assert waiting in body
    assert theirs not in body
    assert "JobComplete" in body
    assert "UploadComplete" in body
    assert "100%" in body
    assert "Bulk Data Load Jobs" in body
