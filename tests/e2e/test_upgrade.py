"""The upgrade to Connected App authentication end to end: real CRM, Engagement, worker, inbox.

A CRM org with a system user and two users Connect knew under legacy authentication (one in the
permission set linked to the Salesforce Marketing Cloud app, one not); the Engagement account
connects in legacy mode, then an admin runs the upgrade over HTTP, consent included.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Iterator

import pytest

from tandem.inbox.maildir import list_messages
from tests.e2e.stack import RunningStack, running_stack
from tests.e2e.upgrade_flow import (
    configure_crm_side,
    connect_legacy,
    engagement_client,
    post,
    tool,
    upgrade_begin,
    upgrade_finish,
)
from tests.e2e.waiting import wait_for

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
UNAVAILABLE = (
    "Marketing Cloud Connect is unavailable during the Connected App upgrade, "
    "until it completes (or is rolled back)"
)


@pytest.fixture(scope="module")
def upgrade_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("upgrade")) as running:
        yield running


def test_upgrade_to_connected_app_end_to_end(
    upgrade_stack: RunningStack, request: pytest.FixtureRequest
) -> None:
    stack = upgrade_stack
    crm = tool(stack, "crm", "crm-seed")
    eng = tool(stack, "engagement", "eng-seed")
    client = engagement_client(stack, eng["password"])
    request.addfinalizer(client.close)
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
    authorize_url = upgrade_begin(client)
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

    # Steps 7-11: the CRM (My Domain, fresh login as the system user), back to Engagement,
    # Migrate Existing Users, Connect, the results popup.
    results = upgrade_finish(stack, client, authorize_url, crm, migrate_users=True)
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


def test_send_test_email_through_connect(
    upgrade_stack: RunningStack, request: pytest.FixtureRequest
) -> None:
    stack = upgrade_stack
    eng = wait_for(lambda: tool(stack, "engagement", "eng-state")["state"] == "connected_app")
    assert eng
    client = engagement_client(stack, "Engagement-e2e-2026!")
    request.addfinalizer(client.close)
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
