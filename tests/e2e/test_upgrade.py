"""The upgrade to Connected App authentication end to end: real CRM, Engagement, worker, inbox.

A CRM org with a system user and two users Connect knew under legacy authentication (one in the
permission set linked to the Salesforce Marketing Cloud app, one not); the Engagement account
connects in legacy mode, then an admin runs the upgrade over HTTP, consent included.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tandem.core.paths import PROJECT_ROOT
from tandem.inbox.maildir import list_messages
from tests.e2e.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

COLUMNS = [
    "engagement_username",
    "crm_username",
    "crm_user_id",
    "status",
    "error_code",
    "error_message",
    "attempted_at",
]
UNAVAILABLE = "Marketing Cloud Connect is unavailable during the Connected App upgrade"
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


@pytest.fixture(scope="module")
def upgrade_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("upgrade")) as running:
        yield running


def tool(stack: RunningStack, service: str, command: str) -> Any:
    env = {**stack.env, "TANDEM_SERVICE": service}
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.upgrade_tools", command],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def crm_cli(stack: RunningStack, *args: str) -> str:
    env = {**stack.env, "TANDEM_SERVICE": "crm"}
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def csrf(page: httpx.Response) -> str:
    match = CSRF.search(page.text)
    assert match is not None, page.text[:2000]
    return match.group(1)


def engagement_client(stack: RunningStack, password: str) -> httpx.Client:
    """Signed in as the Engagement admin, on the host the CRM's callback names."""
    port = urlsplit(stack.engagement_url).port
    client = httpx.Client(base_url=f"http://localhost:{port}", timeout=30)
    form = client.get("/login/")
    done = client.post(
        "/login/",
        data={"csrfmiddlewaretoken": csrf(form), "username": "eadmin", "password": password},
    )
    assert done.status_code == 302, done.text[:2000]
    return client


def post(client: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    page = client.get("/email/admin/salesforce-integration/")
    return client.post(path, data={"csrfmiddlewaretoken": csrf(page), **data})


class CrmBrowser:
    """The admin's browser on the CRM: every host (My Domain too) reached at 127.0.0.1."""

    def __init__(self, stack: RunningStack) -> None:
        self.client = httpx.Client(base_url=stack.crm_url, timeout=30)

    def get(self, url: str) -> httpx.Response:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": parts.netloc} if parts.netloc else {}
        self.host = parts.netloc or self.host
        return self.client.get(path, headers=headers)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        return self.client.post(path, data=data, headers={"Host": self.host})


def authorize_as(crm: CrmBrowser, authorize_url: str, username: str, password: str) -> str:
    """Follow the CRM's pages (login, then consent if asked) to the callback URL."""
    response = crm.get(authorize_url)
    for _ in range(10):
        location = response.headers.get("location", "")
        if response.status_code in (301, 302) and "/callback/" in location:
            return location
        if response.status_code in (301, 302):
            response = crm.get(location if "://" in location else f"http://{crm.host}{location}")
            continue
        if 'name="username"' in response.text:
            path = (
                urlsplit(str(response.request.url)).path
                + "?"
                + (response.request.url.query.decode())
            )
            response = crm.post(
                path,
                {"csrfmiddlewaretoken": csrf(response), "username": username, "password": password},
            )
            continue
        if "Allow Access?" in response.text:
            form = dict(
                re.findall(
                    r'<input type="hidden" name="(\w+)" value="([^"]*)"',
                    response.text.split('id="authorizationForm"')[1],
                )
            )
            path = str(response.request.url.raw_path.decode())
            response = crm.post(path, {**form, "allow": "Authorize"})
            continue
        raise AssertionError(f"unexpected CRM page {response.status_code}: {response.text[:1500]}")
    raise AssertionError("too many CRM redirects")


def wait_for(predicate: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.5)
    raise AssertionError("timed out")


def configure_crm_side(stack: RunningStack) -> None:
    """Spec §5 steps 12-23, by the CRM admin's command-line equivalents."""
    crm_cli(stack, "permset", "create", "--org", "acme", "--label", "Marketing Cloud Connected App")
    crm_cli(
        stack,
        "permset",
        "assign",
        "--org",
        "acme",
        "--permset",
        "Marketing_Cloud_Connected_App",
        "--user",
        "mc-system@acme.demo",
        "--user",
        "maria@acme.demo",
    )
    app = "Salesforce Marketing Cloud"
    crm_cli(
        stack,
        "connectedapp",
        "set-policy",
        "--org",
        "acme",
        app,
        "--permitted-users",
        "AdminApprovedPreAuthorized",
        "--ip-relaxation",
        "BYPASS",
        "--refresh-token-policy",
        "zero",
    )
    crm_cli(
        stack,
        "connectedapp",
        "link-permset",
        "--org",
        "acme",
        app,
        "--permission-set",
        "Marketing_Cloud_Connected_App",
    )


def connect_legacy(stack: RunningStack, client: httpx.Client, crm: dict[str, Any]) -> None:
    port = urlsplit(stack.crm_url).port
    system = "mc-system@acme.demo"
    done = post(
        client,
        "/email/admin/salesforce-integration/connect-legacy/",
        {
            "login_url": f"http://localhost:{port}",
            "username": system,
            "password": crm["users"][1]["password"],
            "security_token": crm["tokens"][system],
        },
    )
    assert done.status_code == 302, done.text[:3000]
    users = dict(
        re.findall(
            r'<option value="(\d+)">(\w+)</option>',
            client.get("/email/admin/salesforce-integration/").text,
        )
    )
    by_name = {name: pk for pk, name in users.items()}
    for engagement_user, crm_user in (("emaria", "maria@acme.demo"), ("emark", "mark@acme.demo")):
        done = post(
            client,
            "/email/admin/salesforce-integration/users/",
            {
                "user": by_name[engagement_user],
                "crm_username": crm_user,
                "password": crm["users"][1]["password"],
                "security_token": crm["tokens"][crm_user],
            },
        )
        assert done.status_code == 302, done.text[:3000]


def test_upgrade_to_connected_app_end_to_end(upgrade_stack: RunningStack) -> None:
    stack = upgrade_stack
    crm = tool(stack, "crm", "crm-seed")
    eng = tool(stack, "engagement", "eng-seed")
    client = engagement_client(stack, eng["password"])
    connect_legacy(stack, client, crm)
    configure_crm_side(stack)
    index = client.get("/email/admin/salesforce-integration/")
    assert "Legacy" in index.text
    assert "Upgrade to Connected App" in index.text

    # Steps 4-6: Upgrade to Connected App, Connect Account, the acknowledgement.
    assert "Connect Account" in client.get("/email/admin/salesforce-integration/upgrade/").text
    ack = client.get("/email/admin/salesforce-integration/upgrade/acknowledge/")
    assert "Active session warning" in ack.text
    assert "My Domain" in ack.text
    go = client.post(
        "/email/admin/salesforce-integration/upgrade/acknowledge/",
        data={"csrfmiddlewaretoken": csrf(ack), "acknowledged": "on", "log_in_again": "on"},
    )
    authorize_url = go.headers["location"]
    assert go.status_code == 302
    assert "acme.my.localhost" in authorize_url
    assert "prompt=login" in authorize_url
    assert "code_challenge=" in authorize_url

    # The outage: while upgrading, a CRM-audience send fails and a data-extension send runs.
    sends = tool(stack, "engagement", "eng-sends")
    state = wait_for(
        lambda: (
            (s := tool(stack, "engagement", "eng-state"))["sends"][str(sends["de_send"])]["status"]
            == "completed"
            and s
        )
    )
    assert state["state"] == "upgrading"
    assert state["sends"][str(sends["crm_send"])] == {
        "status": "failed",
        "reason": UNAVAILABLE,
        "test": False,
    }

    # Steps 7-8: the CRM (My Domain, fresh login as the system user), then back to Engagement.
    callback = authorize_as(
        CrmBrowser(stack), authorize_url, "mc-system@acme.demo", crm["users"][1]["password"]
    )
    back = client.get(callback)
    assert back.status_code == 302, back.text[:3000]
    complete = client.get(back.headers["location"])
    assert "Migrate Existing Users" in complete.text

    # Steps 9-11: Migrate Existing Users, Connect, the results popup.
    done = client.post(
        "/email/admin/salesforce-integration/upgrade/connect/",
        data={"csrfmiddlewaretoken": csrf(complete), "migrate_users": "on"},
    )
    assert done.status_code == 302, done.text[:3000]
    results = client.get(done.headers["location"])
    assert "1</strong> user reconnected, <strong>1</strong> failed" in results.text
    assert "user is not admin approved to access this app" in results.text
    assert ">OK<" in results.text

    state = tool(stack, "engagement", "eng-state")
    assert state["state"] == "connected_app"
    assert state["users"]["maria@acme.demo"]["state"] == "connected"
    assert state["users"]["mark@acme.demo"] == {
        "state": "pending",
        "code": "invalid_app_access",
        "message": "user is not admin approved to access this app",
    }
    day = time.strftime("%Y-%m-%d", time.gmtime())
    success = list(csv.reader(io.StringIO(state["files"][f"{day}_migrationsuccess.csv"])))
    failures = list(csv.reader(io.StringIO(state["files"][f"{day}_migrationfailures.csv"])))
    assert success[0] == COLUMNS
    assert failures[0] == COLUMNS
    assert [row[:4] for row in success[1:]] == [
        ["emaria", "maria@acme.demo", success[1][2], "success"]
    ]
    assert failures[1][:2] == ["emark", "mark@acme.demo"]
    assert failures[1][3:6] == [
        "failure",
        "invalid_app_access",
        "user is not admin approved to access this app",
    ]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", failures[1][6])
    assert "days left" in results.text


def test_send_test_email_through_connect(upgrade_stack: RunningStack) -> None:
    stack = upgrade_stack
    eng = wait_for(lambda: tool(stack, "engagement", "eng-state")["state"] == "connected_app")
    assert eng
    client = engagement_client(stack, "Engagement-e2e-2026!")
    page = client.get("/email/admin/salesforce-integration/")
    email_id = re.search(r'<option value="(\d+)">Welcome</option>', page.text)
    assert email_id is not None

    done = post(
        client, "/email/admin/salesforce-integration/test-email/", {"email": email_id.group(1)}
    )
    page = client.get("/email/admin/salesforce-integration/")

    assert done.status_code == 302
    assert "Test email sent to mc-system@acme.demo" in page.text, page.text[:4000]
    ier = tool(stack, "crm", "crm-ier")["results"]
    assert [row["email"] for row in ier] == ["mc-system@acme.demo"]
    mail = wait_for(
        lambda: [
            m
            for m in list_messages(stack.var_dir / "mail")
            if "mc-system@acme.demo" in m.recipients
        ]
    )
    assert mail
    assert re.search(r"CRM daily allocation: \d+ of \d+ used", page.text), page.text[:5000]
