"""A send to a CRM campaign end to end: real CRM, Engagement, worker and inbox.

The CRM's demo org holds a campaign of 3 contacts and 1 lead; the Engagement account connects
to it (legacy authentication, the password flow); a send to the campaign is read through
Connect into a data extension, delivered to the inbox, and its IndividualEmailResults land in
the CRM, where the CRM's REST API finds them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tandem.core.paths import PROJECT_ROOT
from tandem.inbox.maildir import list_messages
from tests.e2e.stack import RunningStack, running_stack
from tests.e2e.upgrade_flow import connect_legacy, engagement_client, tool
from tests.e2e.waiting import wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def audience_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("crm-audience")) as running:
        yield running


def audience_tool(stack: RunningStack, service: str, *args: str) -> Any:
    env = {**stack.env, "TANDEM_SERVICE": service}
    done = subprocess.run(
        [sys.executable, "-m", "tests.e2e.test_crm_audience_tools", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_send_to_a_crm_campaign_reaches_every_member_and_writes_results_back(
    audience_stack: RunningStack,
) -> None:
    stack = audience_stack
    crm = tool(stack, "crm", "crm-seed")
    eng = tool(stack, "engagement", "eng-seed")
    connect_legacy(stack, engagement_client(stack, eng["password"]), crm)
    campaign = audience_tool(stack, "crm", "crm-campaign")
    members: dict[str, str] = campaign["members"]

    send_id = audience_tool(stack, "engagement", "eng-send", campaign["campaign"])["send"]
    state = wait_for(
        lambda: (
            (s := audience_tool(stack, "engagement", "eng-send-state", str(send_id)))[
                "results_written"
            ]
            and s
        ),
        timeout=120,
    )

    assert state["status"] == "completed", state
    assert sorted((key, email) for key, email, _ in state["records"]) == sorted(
        (crm_id, email) for email, crm_id in members.items()
    )
    assert all(len(key) == 18 for key, _, _ in state["records"])
    assert state["email_field_type"] == "EmailAddress"
    delivered = {
        m.message_id
        for m in list_messages(stack.var_dir / "mail")
        if any(address in m.recipients for address in members)
    }
    assert len(delivered) == 4
    port = urlsplit(stack.crm_url).port
    system = "mc-system@acme.demo"
    results = audience_tool(
        stack,
        "engagement",
        "rest-ier",
        f"http://localhost:{port}",
        system,
        crm["users"][1]["password"] + crm["tokens"][system],
        str(send_id),
    )["records"]
    assert sorted(r["et4ae5__Email__c"] for r in results) == sorted(members)
    assert {r["et4ae5__Contact__c"] or r["et4ae5__Lead__c"] for r in results} == set(
        members.values()
    )
