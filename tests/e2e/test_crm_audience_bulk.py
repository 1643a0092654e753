"""A send to a CRM campaign through the Bulk API, end to end: real CRM, CRM worker (it runs the
Bulk jobs), Engagement and inbox, with both of Connect's Bulk thresholds set low.

The campaign (3 contacts, 1 lead) is over TANDEM_CONNECT_BULK_AUDIENCE_THRESHOLD, so Connect
reads it with a Bulk query job; its 4 results reach TANDEM_CONNECT_BULK_WRITEBACK_THRESHOLD,
so they go back as one Bulk upsert by tracking key. The CRM then holds one
IndividualEmailResult per recipient, both jobs ran as Connect's system user, and Connect
counted its Bulk calls against the CRM's limit. Opens of all four then go back as a second
Bulk upsert, which updates the same four records.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.e2e.stack import RunningStack, running_stack
from tests.e2e.test_crm_audience import audience_tool
from tests.e2e.upgrade_flow import connect_legacy, engagement_client, tool
from tests.e2e.waiting import wait_for

pytestmark = pytest.mark.e2e

IER, TRACKING_KEY = "et4ae5__IndividualEmailResult__c", "et4ae5__TrackingKey__c"
LOW = {
    "TANDEM_CONNECT_BULK_AUDIENCE_THRESHOLD": "2",
    "TANDEM_CONNECT_BULK_WRITEBACK_THRESHOLD": "2",
}


@pytest.fixture(scope="module")
def bulk_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("crm-audience-bulk"), LOW) as running:
        yield running


def test_a_campaign_read_and_written_back_through_bulk_jobs_gets_one_result_each(
    bulk_stack: RunningStack,
) -> None:
    stack = bulk_stack
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
        timeout=180,
    )

    assert state["status"] == "completed", state
    assert sorted((key, email) for key, email, _ in state["records"]) == sorted(
        (crm_id, email) for email, crm_id in members.items()
    )
    system = "mc-system@acme.demo"
    jobs = audience_tool(stack, "crm", "crm-bulk-jobs")["jobs"]
    assert sorted((j["type"], j["operation"], j["object"], j["state"], j["by"]) for j in jobs) == [
        ("V2Ingest", "upsert", IER, "JobComplete", system),
        ("V2Query", "query", "CampaignMember", "JobComplete", system),
    ]
    upsert = next(j for j in jobs if j["type"] == "V2Ingest")
    assert (upsert["external_id"], upsert["processed"], upsert["failed"]) == (TRACKING_KEY, 4, 0)
    port = urlsplit(stack.crm_url).port
    results = audience_tool(
        stack,
        "engagement",
        "rest-ier",
        f"http://localhost:{port}",
        system,
        crm["users"][1]["password"] + crm["tokens"][system],
        str(send_id),
    )["records"]
    assert Counter(r["et4ae5__Email__c"] for r in results) == Counter(list(members))  # one each
    assert {r["et4ae5__Contact__c"] or r["et4ae5__Lead__c"] for r in results} == set(
        members.values()
    )
    opened = audience_tool(stack, "engagement", "eng-open-all", str(send_id))
    jobs = audience_tool(stack, "crm", "crm-bulk-jobs")["jobs"]
    assert opened["updated"] == 4, (opened, jobs)  # one Bulk upsert by tracking key
    after = audience_tool(
        stack,
        "engagement",
        "rest-ier",
        f"http://localhost:{port}",
        system,
        crm["users"][1]["password"] + crm["tokens"][system],
        str(send_id),
    )["records"]
    assert sorted(r["Id"] for r in after) == sorted(r["Id"] for r in results)  # no new ones
    assert all(r["et4ae5__Opened__c"] and r["et4ae5__DateOpened__c"] for r in after)
    assert all(r["et4ae5__DateClicked__c"] is None for r in after)
    assert [j["state"] for j in jobs if j["type"] == "V2Ingest"] == ["JobComplete"] * 2
    calls = audience_tool(stack, "engagement", "eng-usage")["calls"]
    assert calls.get("bulk:counted", 0) >= 8  # query: create, poll, page; ingest: 5 and a poll
    assert "bulk:exempt" not in calls
