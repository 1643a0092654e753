"""Faults with real processes: a part of the stack killed in the middle of its work, then
started again; a clock beyond the assertion's life; PostgreSQL's connection slots all taken.

One stack for the module, started as `tandem up` starts it but with its parts in the test's
hands (`stack.controlled_stack`), so that one part is killed -9 while the others go on. The
account is upgraded to the Connected App without migrating anyone; each migration test then
adds its own users waiting for auto-connection. The worker's periodic retry of waiting users
is retired first: only the runs under test reconnect anyone, so every file row is theirs.

"In the middle" is observed, never timed: a kill follows the first sign of progress (a user
connected, the CRM's answer to the report run, the first results linked), and each test then
checks that the work was indeed unfinished when the kill came.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, closing
from dataclasses import dataclass
from email.utils import getaddresses
from typing import Any
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest

from tandem.inbox.maildir import list_messages
from tests.e2e.stack import Parts, RunningStack, controlled_stack, on_postgres, postgres_role
from tests.e2e.upgrade_flow import (
    SYSTEM_USER,
    configure_crm_side,
    connect_legacy,
    engagement_client,
    migration_results,
    post,
    tool,
    upgrade_begin,
    upgrade_finish,
)
from tests.e2e.waiting import wait_for

pytestmark = pytest.mark.e2e

TOOLS = "tests.e2e.faults_tools"
INTEGRATION = "/email/admin/salesforce-integration/"
MIGRATE = INTEGRATION + "migrate/"
# Per migration test: enough that a run is surely in progress at the first sign. A run records
# its outcomes 200 users (or 2 s) at a time, so the first sign comes with the first 200.
USERS = 1000
AUDIENCE = 1000  # the report's rows: 1 report run + 5 queries to read, 5 batches written back
LEASE = 6  # seconds a migration whose process died keeps the account
CONNECTION_LIMIT = 20  # the services' PostgreSQL role: what "every slot" means here
ENV = {
    "TANDEM_CONNECT_MIGRATION_LEASE_SECONDS": str(LEASE),
    "TANDEM_CONNECT_AUDIENCE_RETRY_SECONDS": "3",
}
COLUMNS = (
    "engagement_username",
    "crm_username",
    "crm_user_id",
    "status",
    "error_code",
    "error_message",
    "attempted_at",
)
UNREACHABLE_REASON = re.compile(r"the CRM( did not answer|'s answer was lost)")


@dataclass
class Faults:
    parts: Parts
    crm: dict[str, Any]
    client: httpx.Client  # the Engagement admin's browser
    role: str | None  # the services' PostgreSQL role (None on SQLite)

    @property
    def stack(self) -> RunningStack:
        return self.parts.stack


@pytest.fixture(scope="module")
def faults(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Faults]:
    with ExitStack() as resources:
        role = None
        if on_postgres():
            base = os.environ["TANDEM_CRM_DATABASE_URL"]
            role = resources.enter_context(postgres_role(base, CONNECTION_LIMIT))
        var = tmp_path_factory.mktemp("faults")
        parts = resources.enter_context(controlled_stack(var, ENV, database_role=role))
        stack = parts.stack
        crm = tool(stack, "crm", "crm-seed")
        eng = tool(stack, "engagement", "eng-seed")
        client = engagement_client(stack, eng["password"])
        resources.callback(client.close)
        client.timeout = httpx.Timeout(60)
        connect_legacy(stack, client, crm)
        configure_crm_side(stack)
        upgrade_finish(stack, client, upgrade_begin(client), crm, migrate_users=False)
        tool(stack, "crm", "crm-people", str(USERS), "kc", "kw", "ks", module=TOOLS)
        wait_for(lambda: workers_ready(stack) >= 2, 120)  # the Engagement's and the CRM's
        tool(stack, "engagement", "eng-retire-sweep", module=TOOLS)
        yield Faults(parts, crm, client, role)


# --- helpers -------------------------------------------------------------------------------


def workers_ready(stack: RunningStack) -> int:
    """How many Celery workers have said they are ready (each start says it once)."""
    return len(re.findall(r"celery@\S+ ready", stack.log.read_text()))


def worker_start(faults: Faults, prefix: tuple[str, ...] = ()) -> None:
    """Start the Engagement worker (killed before) and wait until it is ready; then retire the
    periodic retry its start planned, as the fixture did."""
    ready = workers_ready(faults.stack)
    faults.parts.start("worker", prefix=prefix)
    wait_for(lambda: workers_ready(faults.stack) > ready, 120, what="the worker's start")
    tool(faults.stack, "engagement", "eng-retire-sweep", module=TOOLS)


def progress(faults: Faults, location: str) -> dict[str, Any]:
    """The progress dialog's JSON for the run a migration's answer leads to."""
    run_id = int(location.rsplit("run=", 1)[1])
    answer = faults.client.get(f"{INTEGRATION}migrate/{run_id}/progress/")
    assert answer.status_code == 200, answer.text[:2000]
    return answer.json()  # type: ignore[no-any-return]


def scalar(stack: RunningStack, service: str, sql: str, *params: object) -> Any:
    """One value from a service's database, read directly (fast enough to watch progress)."""
    url = stack.env.get(f"TANDEM_{service.upper()}_DATABASE_URL", "")
    if url.startswith("postgres"):
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute(sql, params).fetchone()  # type: ignore[arg-type]
    else:
        path = stack.var_dir / f"{service}.sqlite3"
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            row = conn.execute(sql.replace("%s", "?"), params).fetchone()
    assert row is not None
    return row[0]


def connected(stack: RunningStack, prefix: str) -> int:
    return int(
        scalar(
            stack,
            "engagement",
            "SELECT count(*) FROM engagement_connect_connecteduser "
            "WHERE crm_username LIKE %s AND state = 'connected'",
            f"{prefix}%",
        )
    )


def migration(faults: Faults, prefix: str) -> dict[str, Any]:
    return tool(faults.stack, "engagement", "eng-migration", prefix, module=TOOLS)  # type: ignore[no-any-return]


def run_page(faults: Faults, answer: httpx.Response) -> str:
    """The page a migration's answer leads to once the worker has done it (the results
    dialog, or a refusal)."""
    assert answer.status_code == 302, answer.text[:2000]
    return migration_results(faults.client, answer.headers["location"]).text


def file_rows(run: dict[str, Any], kind: str, prefix: str) -> list[list[str]]:
    """The rows (header checked) of one of a run's two files, for the prefix's users."""
    (name,) = (n for n in run["files"] if f"_migration{kind}" in n)
    rows = list(csv.reader(io.StringIO(run["files"][name])))
    assert rows[0] == list(COLUMNS)
    return [row for row in rows[1:] if row[1].startswith(prefix)]


def users(prefix: str) -> set[str]:
    return {f"{prefix}{i:04d}@acme.demo" for i in range(USERS)}


def assert_files_match_rows(run: dict[str, Any], prefix: str) -> None:
    """Each file holds exactly its run's rows, cell by cell."""
    for kind, status in (("success", "success"), ("failures", "failure")):
        expected = [[row[c] for c in COLUMNS] for row in run["rows"] if row["status"] == status]
        assert file_rows(run, kind, prefix) == expected


# --- the CRM killed in the middle of Migrate Existing Users --------------------------------


def test_crm_killed_during_migrate_existing_users_loses_and_duplicates_nothing(
    faults: Faults,
) -> None:
    stack = faults.stack
    tool(stack, "engagement", "eng-mappings", "kc", str(USERS), module=TOOLS)
    answer = post(faults.client, MIGRATE, {})  # queued: the worker runs it
    wait_for(lambda: connected(stack, "kc"), 300, interval=0.01)
    faults.parts.kill("crm")
    page = run_page(faults, answer)

    first = migration(faults, "kc")
    (run,) = first["runs"]
    succeeded = {r["crm_username"] for r in run["rows"] if r["status"] == "success"}
    failed = {r["crm_username"] for r in run["rows"] if r["status"] == "failure"}
    assert succeeded, "the CRM was killed before any user was reconnected"
    assert failed, "the migration had finished before the CRM was killed"
    assert succeeded | failed == users("kc")
    assert {r["error_code"] for r in run["rows"] if r["status"] == "failure"} == {"unreachable"}
    assert all(
        UNREACHABLE_REASON.search(r["error_message"])
        for r in run["rows"]
        if r["status"] == "failure"
    )
    assert '<dialog id="migration-results"' in page
    assert f"<strong>{run['failed']}</strong> failed" in page
    assert "not tried: the CRM" in page
    assert_files_match_rows(run, "kc")
    assert {u for u, (state, _, _) in first["states"].items() if state == "connected"} == succeeded
    assert not first["claimed"]

    faults.parts.start("crm")
    page = run_page(faults, post(faults.client, MIGRATE, {}))

    final = migration(faults, "kc")
    assert final["runs"][0] == run  # the first run's rows and files are untouched
    second = final["runs"][1]
    assert {r["crm_username"] for r in second["rows"]} == failed
    assert {r["status"] for r in second["rows"]} == {"success"}
    assert_files_match_rows(second, "kc")
    assert {state for state, _, _ in final["states"].values()} == {"connected"}
    assert final["per_user"] == [1]  # one mapping per CRM user
    reconnected = Counter(row[1] for r in final["runs"] for row in file_rows(r, "success", "kc"))
    assert set(reconnected) == users("kc")
    assert set(reconnected.values()) == {1}  # each user in exactly one success row


# --- the Engagement worker killed -9 in the middle of Migrate Existing Users ----------------


def test_worker_killed_9_during_the_migration_resumes_the_run_and_its_files_list_everyone(
    faults: Faults,
) -> None:
    """Migrate Existing Users runs on the Engagement worker: the worker (Celery and its
    children) is killed -9 in the middle of the run. The admin's page shows the run stopped;
    once its lease lapses, the button takes the same run up again with the users it had not
    done, and its files list every user, those reconnected before the kill too."""
    stack = faults.stack
    tool(stack, "engagement", "eng-mappings", "kw", str(USERS), module=TOOLS)
    answer = post(faults.client, MIGRATE, {})
    assert answer.status_code == 302, answer.text[:2000]
    location = answer.headers["location"]
    page = faults.client.get(location).text
    assert 'id="migration-results"' in page  # the progress dialog, at once
    wait_for(lambda: connected(stack, "kw"), 300, interval=0.01)
    faults.parts.kill("worker")

    again = post(faults.client, MIGRATE, {})  # pressed again: the same run, no refusal
    assert again.headers["location"] == location
    assert "already running" not in faults.client.get(location).text
    killed = migration(faults, "kw")
    done_before = {u for u, (state, _, _) in killed["states"].items() if state == "connected"}
    assert done_before, "killed before any user was reconnected"
    assert len(done_before) < USERS, "the migration had finished before it was killed"
    (stopped,) = killed["runs"]  # its batches are recorded, with the users they reconnected
    assert stopped["state"] != "done"
    assert stopped["files"] == {}
    recorded = {r["crm_username"] for r in stopped["rows"] if r["status"] == "success"}
    assert recorded == done_before  # each user it reconnected is in its rows
    interrupted = wait_for(
        lambda: (p := progress(faults, location))["state"] == "interrupted" and p, LEASE * 10
    )
    # (the account's other waiting users are in the run too: its total counts them)
    assert 0 < interrupted["processed"] < interrupted["total"]
    assert interrupted["total"] >= USERS

    worker_start(faults)
    resumed = post(faults.client, MIGRATE, {})
    assert resumed.headers["location"] == location  # the same run goes on
    page = run_page(faults, resumed)
    assert "Migrate Existing Users: results" in page

    final = migration(faults, "kw")
    (run,) = final["runs"]
    assert f"<strong>{run['succeeded']}</strong> users reconnected" in page
    assert run["succeeded"] >= USERS
    assert run["id"] == stopped["id"]
    assert run["state"] == "done"
    names = [r["crm_username"] for r in run["rows"]]
    assert sorted(names) == sorted(users("kw"))  # every user, each once
    assert {r["status"] for r in run["rows"]} == {"success"}
    assert_files_match_rows(run, "kw")
    assert {row[1] for row in file_rows(run, "success", "kw")} >= done_before
    assert {state for state, _, _ in final["states"].values()} == {"connected"}
    assert final["per_user"] == [1]
    assert not final["claimed"]


# --- clock skew beyond the assertion's life ------------------------------------------------


@pytest.mark.skipif(
    shutil.which("faketime") is None, reason="needs Debian's faketime (make system-deps)"
)
def test_a_clock_beyond_the_assertion_s_life_is_named_and_recoverable(faults: Faults) -> None:
    """The Engagement worker restarted 10 minutes ahead (libfaketime): every assertion it
    signs is refused, and the migration says the clocks are the reason; with the clock right
    again, the same button reconnects everyone."""
    stack = faults.stack
    tool(stack, "engagement", "eng-mappings", "ks", "5", module=TOOLS)
    faults.parts.kill("worker")
    worker_start(faults, prefix=("faketime", "-f", "+10m"))

    page = run_page(faults, post(faults.client, MIGRATE, {}))

    skewed = migration(faults, "ks")
    (run,) = skewed["runs"]
    assert [r["status"] for r in run["rows"]] == ["failure"] * 5
    clock = re.compile(
        r"^invalid assertion \(this server's clock is 6\d\d s ahead of the CRM's, and an "
        r"assertion lives 150 s: set both clocks right, e\.g\. with NTP, then try again\)$"
    )
    for row in run["rows"]:
        assert row["error_code"] == "invalid_grant"
        assert clock.match(row["error_message"]), row["error_message"]
    assert "clock is 6" in page
    assert {state for state, _, _ in skewed["states"].values()} == {"pending"}
    assert_files_match_rows(run, "ks")

    faults.parts.kill("worker")
    worker_start(faults)
    page = run_page(faults, post(faults.client, MIGRATE, {}))

    final = migration(faults, "ks")
    assert {r["status"] for r in final["runs"][1]["rows"]} == {"success"}
    assert {state for state, _, _ in final["states"].values()} == {"connected"}
    assert final["per_user"] == [1]


# --- the CRM killed while a CRM-audience send reads and writes back ------------------------


def test_crm_killed_during_an_audience_read_and_during_write_back_loses_and_duplicates_nothing(
    faults: Faults,
) -> None:
    stack = faults.stack
    audience = tool(stack, "crm", "crm-audience", "rd", str(AUDIENCE), module=TOOLS)
    members: dict[str, str] = audience["members"]
    report_run = f"/analytics/reports/{audience['report']}"
    crm_log = CrmLog(stack)
    send = tool(stack, "engagement", "eng-send", "report", audience["report"], module=TOOLS)["send"]

    def state() -> dict[str, Any]:
        return tool(stack, "engagement", "eng-send-state", str(send), module=TOOLS)  # type: ignore[no-any-return]

    # The read: the report has run; its people's opt-outs are still being queried.
    with closing(crm_log.file):  # closed here, not left to the garbage collector
        wait_for(lambda: crm_log.answered(report_run), 300, interval=0.01)
    faults.parts.kill("crm")
    waiting = wait_for(
        lambda: (s := state())["reason"].startswith("Waiting for the CRM") and s, 120
    )
    assert waiting["status"] == "scheduled"
    assert waiting["audience"] == "pending"
    assert waiting["audience_rows"] == 0  # nothing kept from the partial read
    assert waiting["records"] == {}
    assert UNREACHABLE_REASON.search(waiting["reason"])

    faults.parts.start("crm")

    # The write-back: the first results are linked, the others not yet written.
    def linked() -> int:
        return int(
            scalar(
                stack,
                "engagement",
                "SELECT count(*) FROM engagement_connect_emailresultlink l JOIN "
                "engagement_sends_sendrecord r ON r.id = l.record_id WHERE r.send_id = %s",
                send,
            )
        )

    wait_for(linked, 300, interval=0.01)
    faults.parts.kill("crm")
    assert linked() < AUDIENCE, "the write-back had finished before the CRM was killed"
    faults.parts.start("crm")

    final = wait_for(lambda: (s := state())["results_written"] and s, 300)
    assert final["status"] == "completed"
    assert final["reason"] == ""
    assert final["records"] == {"sent": AUDIENCE}
    assert final["emails"] == sorted(members)
    assert (final["links"], final["linked_records"]) == (AUDIENCE, AUDIENCE)
    received = Counter(
        address
        for message in list_messages(stack.var_dir / "mail")
        for _name, address in getaddresses([message.recipients])
        if address in members
    )
    assert set(received) == set(members)
    assert set(received.values()) == {1}  # each member mailed exactly once
    results = tool(stack, "crm", "crm-results", str(send), module=TOOLS)
    assert results["rows"] == AUDIENCE
    assert results["per_key"] == [1]  # each IndividualEmailResult exactly once
    assert results["emails"] == sorted(members)


class CrmLog:
    """The CRM's lines of the stack's log, read as they come."""

    def __init__(self, stack: RunningStack) -> None:
        self.file = stack.log.open("r", encoding="utf-8", errors="replace")
        self.file.seek(0, io.SEEK_END)

    def answered(self, path: str) -> bool:
        """The CRM's access log shows its answer to a request for `path` (since created)."""
        return any(line.startswith("crm ") and path in line for line in self.file.readlines())


# --- PostgreSQL's connection slots all taken -----------------------------------------------


@pytest.mark.skipif(not on_postgres(), reason="connection slots are PostgreSQL's (SQLite has none)")
def test_services_answer_503_while_every_connection_slot_is_taken_and_recover(
    faults: Faults,
) -> None:
    stack = faults.stack
    assert faults.role is not None
    crm_port = urlsplit(stack.crm_url).port
    consumer_key = (stack.var_dir / "connect" / "consumer_key").read_text().strip()
    system = faults.crm["users"][1]
    login = {
        "grant_type": "password",
        "client_id": consumer_key,
        "username": SYSTEM_USER,
        "password": system["password"] + faults.crm["tokens"][SYSTEM_USER],
    }
    api = httpx.Client(base_url=f"http://localhost:{crm_port}", timeout=30)
    token = api.post("/services/oauth2/token", data=login)
    assert token.status_code == 200, token.text
    bearer = {"Authorization": f"Bearer {token.json()['access_token']}"}
    soap = (
        '<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
        'envelope/" xmlns:urn="urn:partner.soap.sforce.com"><soapenv:Body><urn:login>'
        f"<urn:username>{SYSTEM_USER}</urn:username><urn:password>{login['password']}"
        "</urn:password></urn:login></soapenv:Body></soapenv:Envelope>"
    )

    def answers() -> dict[str, httpx.Response]:
        return {
            "rest": api.get("/services/data/v62.0/sobjects/", headers=bearer),
            "token": api.post("/services/oauth2/token", data=login),
            "soap": api.post(
                "/services/Soap/u/62.0",
                content=soap,
                headers={"Content-Type": "text/xml", "SOAPAction": "login"},
            ),
            "crm page": api.get("/login/"),
            "engagement page": faults.client.get(INTEGRATION),
        }

    with every_slot_taken(stack, faults.role):
        for _ in range(2):  # the first answers meet connections the server just ended
            full = answers()
            for name, response in full.items():
                assert response.status_code == 503, (name, response.status_code, response.text)
                assert response.headers["Retry-After"] == "10", name
                assert "Traceback" not in response.text, name
            message = "The service cannot reach its database right now. Try again in a moment."
            assert full["rest"].json() == [{"message": message, "errorCode": "SERVER_UNAVAILABLE"}]
            assert full["token"].json() == {
                "error": "temporarily_unavailable",
                "error_description": message,
            }
            assert "<faultcode>sf:SERVER_UNAVAILABLE</faultcode>" in full["soap"].text
            for page in ("crm page", "engagement page"):
                assert "<h1>Service unavailable</h1>" in full[page].text

    recovered = answers()
    assert recovered["rest"].status_code == 200
    assert "sobjects" in recovered["rest"].json()
    assert "access_token" in recovered["token"].json()
    assert "<sessionId>" in recovered["soap"].text
    assert recovered["crm page"].status_code == 200
    assert recovered["engagement page"].status_code == 200
    assert "Salesforce Integration" in recovered["engagement page"].text


class every_slot_taken:
    """Hold every connection the services' role may open: the services' own connections are
    ended by the server (pg_terminate_backend) and their slots taken at once, until none is
    left to anyone else."""

    def __init__(self, stack: RunningStack, role: str) -> None:
        self.role = role
        url = urlsplit(stack.env["TANDEM_CRM_DATABASE_URL"])
        self.as_role = url.geturl()
        self.admin = url._replace(netloc=f"postgres@{url.hostname}:{url.port or 5432}").geturl()
        self.held: list[psycopg.Connection[Any]] = []

    def __enter__(self) -> every_slot_taken:
        with psycopg.connect(self.admin, autocommit=True) as admin:
            for _ in range(100):
                mine = [c.info.backend_pid for c in self.held]
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE usename = %s AND pid <> ALL(%s)",
                    (self.role, mine),
                )
                try:
                    while True:
                        self.held.append(psycopg.connect(self.as_role, autocommit=True))
                except psycopg.OperationalError as exc:
                    if "too many connections" not in str(exc):
                        raise
                others = admin.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE usename = %s AND pid <> ALL(%s)",
                    (self.role, [c.info.backend_pid for c in self.held]),
                ).fetchone()
                if others == (0,) and len(self.held) == CONNECTION_LIMIT:
                    return self
                time.sleep(0.05)  # ended backends leave pg_stat_activity shortly
        raise AssertionError("the services kept taking the slots back")

    def __exit__(self, *exc: object) -> None:
        for conn in self.held:
            conn.close()
