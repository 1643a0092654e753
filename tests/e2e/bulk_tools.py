"""An org, a user and a connected app for Bulk API 2.0 tests in a running stack, and the
client and polling those tests share."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest

from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack

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


def crm_shell(stack: RunningStack, code: str, **env: str) -> Any:
    """Run `code` with `tandem crm shell -c` on the stack's databases (the stack may be
    stopped); the JSON it prints on its last line."""
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", code],
        env={**stack.env, "TANDEM_SERVICE": "crm", **env},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def bulk_token(stack: RunningStack) -> str:
    """An access token of a new org's administrator (password flow)."""
    suffix = secrets.token_hex(3)
    username = f"bulk{suffix}@example.test"
    app = crm_shell(
        stack, SETUP, BULK_DOMAIN=f"bulk{suffix}", BULK_USER=username, BULK_PASSWORD=PASSWORD
    )
    token = httpx.post(
        f"{stack.crm_url}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": app["key"],
            "client_secret": app["secret"],
            "username": username,
            "password": PASSWORD,
        },
        timeout=30,
    )
    assert token.status_code == 200, token.text
    return str(token.json()["access_token"])


def jobs_client(stack: RunningStack, token: str) -> httpx.Client:
    """A client of the stack's /services/data/v62.0/jobs with the token."""
    return httpx.Client(
        base_url=f"{stack.crm_url}/services/data/v62.0/jobs",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )


def finished(api: httpx.Client, path: str) -> dict[str, Any]:
    """Poll the job as clients do until it leaves UploadComplete/InProgress."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        info = api.get(path).json()
        if info["state"] not in ("UploadComplete", "InProgress"):
            return dict(info)
        time.sleep(0.5)
    pytest.fail(f"{path} did not finish: {info}")
