"""Shared steps of the end-to-end tests of Connect: seeding, legacy connection, the upgrade.

The Engagement admin's browser is an HTTP client here; the CRM pages are followed by form.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any
from urllib.parse import urlsplit

import httpx

from tandem.cli.mc_keys import ensure_mc_keys, mc_env
from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack
from tests.e2e.waiting import wait_for

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
SYSTEM_USER = "mc-system@acme.demo"


def tool(
    stack: RunningStack,
    service: str,
    command: str,
    *args: str,
    module: str = "tests.e2e.upgrade_tools",
) -> Any:
    """Run `module`'s COMMAND in the stack's environment, as `service`; its JSON answer."""
    env = {**stack.env, "TANDEM_SERVICE": service}
    if service == "engagement":  # Connect's key, as `tandem up` gives the Engagement
        keys = ensure_mc_keys(stack.var_dir / "connect")
        env = {**env, **mc_env(keys, stack.engagement_url)[1]}
    done = subprocess.run(
        [sys.executable, "-m", module, command, *args],
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


def engagement_client(stack: RunningStack, password: str, username: str = "eadmin") -> httpx.Client:
    """Signed in to Engagement (the admin by default), on the host the CRM's callback names."""
    port = urlsplit(stack.engagement_url).port
    client = httpx.Client(base_url=f"http://localhost:{port}", timeout=30)
    form = client.get("/login/")
    done = client.post(
        "/login/",
        data={"csrfmiddlewaretoken": csrf(form), "username": username, "password": password},
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


def configure_crm_side(stack: RunningStack) -> None:
    """The Setup steps of docs/reference/setup.md, by the CRM admin's command-line equivalents."""
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


def upgrade_begin(client: httpx.Client) -> str:
    """Steps 4-6: Upgrade to Connected App, Connect Account, acknowledge: the authorize URL."""
    ack = client.get("/email/admin/salesforce-integration/upgrade/acknowledge/")
    go = client.post(
        "/email/admin/salesforce-integration/upgrade/acknowledge/",
        data={"csrfmiddlewaretoken": csrf(ack), "acknowledged": "on", "log_in_again": "on"},
    )
    assert go.status_code == 302, go.text[:3000]
    return go.headers["location"]


def upgrade_finish(
    stack: RunningStack,
    client: httpx.Client,
    authorize_url: str,
    crm: dict[str, Any],
    *,
    migrate_users: bool = True,
) -> httpx.Response:
    """Steps 7-11: the CRM as the system user, back, Connect: the results page (once the
    worker has migrated the users: the progress dialog until then)."""
    crm_browser = CrmBrowser(stack)
    with crm_browser.client:  # closed here, not left to the garbage collector
        callback = authorize_as(
            crm_browser, authorize_url, SYSTEM_USER, crm["users"][1]["password"]
        )
    back = client.get(callback)
    assert back.status_code == 302, back.text[:3000]
    complete = client.get(back.headers["location"])
    assert "Migrate Existing Users" in complete.text, complete.text[:3000]
    done = client.post(
        "/email/admin/salesforce-integration/upgrade/connect/",
        data={
            "csrfmiddlewaretoken": csrf(complete),
            **({"migrate_users": "on"} if migrate_users else {}),
        },
    )
    assert done.status_code == 302, done.text[:3000]
    if not migrate_users:
        return client.get(done.headers["location"])
    return migration_results(client, done.headers["location"])


RESULTS = "Migrate Existing Users: results"


def migration_results(client: httpx.Client, location: str, timeout: float = 300) -> httpx.Response:
    """The page a Migrate Existing Users run leads to, once the worker has tried every user
    (as the progress dialog's poll does in a browser)."""

    def done() -> httpx.Response | None:
        page = client.get(location)
        assert page.status_code == 200, page.text[:2000]
        if RESULTS in page.text or 'id="migration-results"' not in page.text:
            return page  # the results, or no run to show (a refusal's message)
        return None

    return wait_for(done, timeout, interval=0.5, what=f"the migration results at {location}")


def upgraded_account(stack: RunningStack) -> tuple[dict[str, Any], dict[str, Any]]:
    """Seeded, connected in legacy mode, CRM side configured, upgraded: (crm, eng) seeds."""
    crm = tool(stack, "crm", "crm-seed")
    eng = tool(stack, "engagement", "eng-seed")
    client = engagement_client(stack, eng["password"])
    connect_legacy(stack, client, crm)
    configure_crm_side(stack)
    upgrade_finish(stack, client, upgrade_begin(client), crm)
    return crm, eng
