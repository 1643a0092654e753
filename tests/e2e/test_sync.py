"""Synchronized data sources end to end: the real CRM, Engagement, worker and inbox.

Contact and Lead sources are set up and run with `tandem connect sync` (real processes,
Connect's HTTP client against the CRM's REST and Bulk APIs, legacy authentication). 10,000
contacts (and a few with names that need quoting) are copied by a Bulk query job; then exactly
the changes, deletes and additions made in the CRM are applied; an outage pauses the sync and
the catch-up applies what changed during it; the worker running a sync is killed -9 and the
next run applies each remaining change exactly once; a send to a filtered data extension of
the synchronized contacts reaches exactly the filtered recipients; a copy of the same contacts
over REST is the Bulk copy, byte for byte; pausing, resuming and removing a source are audited
as the named Administrator, and only Administrators see the link to the sources.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest

from tandem.cli.mc_keys import ensure_mc_keys, mc_env
from tandem.core.paths import PROJECT_ROOT
from tandem.inbox.maildir import list_messages
from tests.e2e.stack import Parts, RunningStack, controlled_stack
from tests.e2e.upgrade_flow import connect_legacy, engagement_client, tool
from tests.e2e.waiting import wait_for

pytestmark = pytest.mark.e2e

TOOLS = "tests.e2e.sync_tools"
CONTACTS = 10_000
LEASE = 3
BULK_OVER = 5_000  # the contacts' first copy reads by a Bulk query job, the leads' over REST
ENV = {
    "TANDEM_SYNC_LEASE_SECONDS": str(LEASE),
    "TANDEM_SYNC_OVERLAP_SECONDS": "60",
    "TANDEM_SYNC_BULK_THRESHOLD": str(BULK_OVER),
}
ACCOUNT = "Acme Marketing"
CONTACT_FIELDS = "Email,FirstName,LastName"


@dataclass
class Synced:
    parts: Parts
    client: httpx.Client

    @property
    def stack(self) -> RunningStack:
        return self.parts.stack


def cli(stack: RunningStack, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    """`tandem …` as the Engagement service (with Connect's keys); its JSON answer."""
    keys = ensure_mc_keys(stack.var_dir / "connect")
    env = {
        **stack.env,
        "TANDEM_SERVICE": "engagement",
        **mc_env(keys, stack.engagement_url)[1],
        **(env or {}),
    }
    done = subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == code, done.stdout + done.stderr
    if code:
        return done.stderr
    text = done.stdout.strip()
    return json.loads(text) if text.startswith(("{", "[")) else text


def sync(stack: RunningStack, *args: str, code: int = 0, env: dict[str, str] | None = None) -> Any:
    return cli(stack, "connect", "sync", *args, "--account", ACCOUNT, code=code, env=env)


def crm_tool(stack: RunningStack, *args: str) -> Any:
    return tool(stack, "crm", *args, module=TOOLS)


def eng_tool(stack: RunningStack, *args: str) -> Any:
    return tool(stack, "engagement", *args, module=TOOLS)


def copy_matches_crm(stack: RunningStack, obj: str = "Contact") -> None:
    crm, copy = crm_tool(stack, "crm-table", obj), eng_tool(stack, "eng-table", f"{obj}_Salesforce")
    assert copy == crm


def scalar(stack: RunningStack, sql: str, *params: object) -> Any:
    """One value of the Engagement database, read directly (fast enough to watch a run)."""
    found = rows(stack, sql, *params)
    assert found
    return found[0]


def rows(stack: RunningStack, sql: str, *params: object) -> list[Any]:
    """The rows of a query of the Engagement database, read directly."""
    url = stack.env.get("TANDEM_ENGAGEMENT_DATABASE_URL", "")
    if url.startswith("postgres"):
        with psycopg.connect(url, autocommit=True) as conn:
            return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]
    with closing(sqlite3.connect(stack.var_dir / "engagement.sqlite3", timeout=30)) as conn:
        return conn.execute(sql.replace("%s", "?"), params).fetchall()


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    with controlled_stack(tmp_path_factory.mktemp("sync"), ENV) as parts:
        stack = parts.stack
        crm = tool(stack, "crm", "crm-seed")
        eng = tool(stack, "engagement", "eng-seed")
        client = engagement_client(stack, eng["password"])
        connect_legacy(stack, client, crm)
        crm_tool(stack, "crm-contacts", str(CONTACTS), "sync.test")
        crm_tool(stack, "crm-awkward")
        crm_tool(stack, "crm-leads", "30")
        try:
            yield Synced(parts, client)
        finally:
            client.close()


def test_1_contact_and_lead_sources_copy_every_record(synced: Synced) -> None:
    stack = synced.stack
    bad = sync(
        stack,
        "setup",
        "--admin",
        "eadmin",
        "--object",
        "Contact",
        "--fields",
        "Email,Nope__c",
        code=2,
    )
    assert "Nope__c" in bad
    assert sync(stack, "status", "--json") == []
    for obj, fields in (("Contact", CONTACT_FIELDS), ("Lead", "Email,Company")):
        set_up = sync(
            stack,
            "setup",
            "--admin",
            "eadmin",
            "--object",
            obj,
            "--fields",
            fields,
            "--schedule",
            "manual",
            "--json",
        )
        assert set_up[0]["data_extension"] == f"{obj}_Salesforce"
    first = sync(stack, "run", "--object", "Contact", "--json")
    crm_contacts = crm_tool(stack, "crm-table", "Contact")
    assert (first["outcome"], first["added"], first["updated"]) == ("done", len(crm_contacts), 0)
    assert len(crm_contacts) > BULK_OVER
    bulk_calls = "SELECT sum(calls) FROM engagement_connect_apicallday WHERE api_family = %s"
    assert scalar(stack, bulk_calls, "bulk")[0] >= 3  # a query job: create, poll, results
    assert len(crm_contacts) >= CONTACTS
    copy_matches_crm(stack)
    assert sync(stack, "run", "--object", "Lead", "--json")["added"] >= 30
    copy_matches_crm(stack, "Lead")
    page = synced.client.get("/email/admin/salesforce-integration/").text
    assert "never" not in page.split("<th>Last sync</th>")[1].split("</tr>")[0]


def test_2_next_sync_applies_exactly_the_changes(synced: Synced) -> None:
    stack = synced.stack
    made = crm_tool(stack, "crm-change", "100", "10", "50", "t2")
    result = sync(stack, "run", "--object", "Contact", "--json")
    assert (result["added"], result["updated"], result["deleted"]) == (50, 100, 10)
    copy = eng_tool(stack, "eng-table", "Contact_Salesforce")
    assert all(copy[i]["FirstName"] == "t2-changed" for i in made["changed"])
    assert not set(made["deleted"]) & set(copy)
    assert set(made["added"]) <= set(copy)
    copy_matches_crm(stack)
    again = sync(stack, "run", "--object", "Contact", "--json")
    assert (again["added"], again["updated"], again["deleted"]) == (0, 0, 0)


def test_3_an_outage_pauses_the_sync_and_the_catch_up_applies_its_changes(
    synced: Synced,
) -> None:
    stack = synced.stack
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cli(
        stack,
        "connect",
        "outage",
        "--account",
        ACCOUNT,
        "--admin",
        "eadmin",
        "--start",
        now,
        "--hours",
        "1",
    )
    page = synced.client.get("/email/admin/salesforce-integration/").text
    # Manual sources are not paused by the window: only scheduled ones are listed.
    sync(
        stack,
        "setup",
        "--admin",
        "eadmin",
        "--object",
        "Lead",
        "--fields",
        "Email,Company",
        "--schedule",
        "1h",
    )
    page = synced.client.get("/email/admin/salesforce-integration/").text
    assert '<span class="paused-syncs">Lead_Salesforce</span>' in page
    made = crm_tool(stack, "crm-change", "20", "5", "7", "t3")
    paused = sync(stack, "run", "--object", "Contact", "--json")
    assert (paused["ran"], paused["outcome"]) == (False, "waiting")
    assert "scheduled outage" in paused["message"]
    copy = eng_tool(stack, "eng-table", "Contact_Salesforce")
    assert all(copy[i]["FirstName"] != "t3-changed" for i in made["changed"])
    assert eng_tool(stack, "eng-source", "Contact")["outcome"] == "waiting"
    eng_tool(stack, "eng-outage-end")
    caught_up = sync(stack, "run", "--object", "Contact", "--json")
    assert (caught_up["added"], caught_up["updated"], caught_up["deleted"]) == (7, 20, 5)
    copy_matches_crm(stack)


def test_4_a_worker_killed_mid_sync_is_resumed_exactly(synced: Synced) -> None:
    stack, parts = synced.stack, synced.parts
    wait_for(lambda: "ready" in stack.log.read_text(), 120)
    touched = crm_tool(stack, "crm-touch-all", "t4")["touched"]
    eng_tool(stack, "eng-queue-run", "Contact")
    source = "SELECT rows_updated, outcome FROM engagement_syncs_syncsource WHERE object_name = %s"
    committed = wait_for(
        lambda: (row := scalar(stack, source, "Contact"))[1] == "running" and row[0] > 0,
        timeout=120,
        interval=0.02,
    )
    assert committed
    parts.kill("worker")
    before, outcome = scalar(stack, source, "Contact")
    assert outcome == "running"
    assert 0 < before < touched, "the run ended before the worker was killed"
    parts.start("worker")
    time.sleep(LEASE + 1)  # the dead run's lease lapses
    resumed = sync(stack, "run", "--object", "Contact", "--json")
    assert resumed["outcome"] == "done"
    assert before + resumed["updated"] == touched  # each change applied exactly once
    copy_matches_crm(stack)


def test_5_a_send_to_a_filtered_de_reaches_exactly_the_filtered_contacts(synced: Synced) -> None:
    stack = synced.stack
    chosen = crm_tool(stack, "crm-email", "filtered.test", "12")["ids"]
    sync(stack, "run", "--object", "Contact", "--json")
    sync(
        stack,
        "filter",
        "--admin",
        "eadmin",
        "--object",
        "Contact",
        "--name",
        "Filtered contacts",
        "--where",
        "Email ends_with @filtered.test",
    )
    send_id = cli(
        stack,
        "send",
        "create",
        "--email",
        "Welcome",
        "--synced",
        "Filtered contacts",
        "--account",
        ACCOUNT,
    )
    cli(stack, "send", "start", str(send_id))
    state = wait_for(
        lambda: (
            (s := eng_tool(stack, "eng-send-state", str(send_id)))["status"] == "completed" and s
        ),
        timeout=180,
    )
    assert sorted(key for key, _, _ in state["records"]) == sorted(chosen)
    delivered = [
        m for m in list_messages(stack.var_dir / "mail") if "@filtered.test" in m.recipients
    ]
    assert sorted(m.recipients for m in delivered) == sorted(
        f"f{n}@filtered.test" for n in range(12)
    )
    assert not [m for m in list_messages(stack.var_dir / "mail") if "@sync.test" in m.recipients]


def test_6_a_rest_copy_of_the_contacts_equals_their_bulk_copy(synced: Synced) -> None:
    """The same CRM data copied by a Bulk query job and over REST gives the same rows, byte
    for byte (the awkward names included), and an incremental run after either finds nothing."""
    stack = synced.stack
    eng_tool(stack, "eng-recopy", "Contact")
    by_bulk = sync(stack, "run", "--object", "Contact", "--json")
    bulk_copy = eng_tool(stack, "eng-table", "Contact_Salesforce")
    eng_tool(stack, "eng-recopy", "Contact")
    rest_env = {"TANDEM_SYNC_BULK_THRESHOLD": "100000000"}
    by_rest = sync(stack, "run", "--object", "Contact", "--json", env=rest_env)
    assert by_bulk["added"] == by_rest["added"] == len(bulk_copy) > BULK_OVER
    assert eng_tool(stack, "eng-table", "Contact_Salesforce") == bulk_copy
    odd = [row for row in bulk_copy.values() if row["Email"].endswith("@odd.test")]
    assert any(row["FirstName"] == 'say "hi", then\r\nbye' for row in bulk_copy.values())
    assert len(odd) == 4
    copy_matches_crm(stack)


def test_7_changes_are_audited_and_a_source_is_removed(synced: Synced) -> None:
    stack = synced.stack
    subscribers = synced.client.get("/email/subscribers/").text  # as eadmin, an Administrator
    assert 'href="/email/admin/salesforce-integration/sync/"' in subscribers
    audit = (
        "SELECT action, actor_label, target FROM engagement_accounts_auditevent"
        " WHERE action LIKE %s ORDER BY id"
    )
    before = len(rows(stack, audit, "sync.%"))
    assert before >= 3  # the two set-ups and the Lead's change to hourly
    sync(stack, "pause", "--admin", "eadmin", "--object", "Lead")
    sync(stack, "resume", "--admin", "eadmin", "--object", "Lead")
    bad = sync(stack, "remove", "--admin", "nobody", "--object", "Lead", code=2)
    assert "not an Administrator" in bad
    assert sync(stack, "remove", "--admin", "eadmin", "--object", "Lead", "--json") == {
        "removed": "Lead_Salesforce"
    }
    assert [tuple(row) for row in rows(stack, audit, "sync.%")[before:]] == [
        ("sync.paused", "eadmin", "Lead_Salesforce"),
        ("sync.resumed", "eadmin", "Lead_Salesforce"),
        ("sync.removed", "eadmin", "Lead_Salesforce"),
    ]
    assert [row["object"] for row in sync(stack, "status", "--json")] == ["Contact"]
