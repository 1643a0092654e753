"""bench/sync: a synchronized data source's first copy and an incremental run, on PostgreSQL.

CONTACTS contacts in one CRM org (loaded by COPY, last modified a day ago), one granian CRM
worker. In the same run: the raw REST walk of the same query (query + every nextRecordsUrl,
each batch parsed, as bench/api does), then Connect's sync through its HTTP client as the
system user into a data extension on the Engagement database: the first copy of every
contact, then an incremental run after CHANGES of them were changed in the CRM.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench import api, bulk

ROOT = Path(__file__).resolve().parent.parent
CONTACTS = int(os.environ.get("BENCH_SYNC_CONTACTS", "1000000"))
CHANGES = int(os.environ.get("BENCH_SYNC_CHANGES", "1000"))
FIELDS = "Email,FirstName,LastName,AccountId"
SOQL = "SELECT Id, Email, FirstName, LastName, AccountId, SystemModstamp FROM Contact"

SYNC = r"""
import json, os, time
import psycopg
from django.utils import timezone
from tandem.engagement.accounts.models import Account
from tandem.engagement.connect import tokens
from tandem.engagement.connect.client import CrmToken
from tandem.engagement.connect.models import ConnectionState, CrmConnection
from tandem.engagement.syncs.run import source_run
from tandem.engagement.syncs.setup import source_setup
server, org, user, raw, crm_db, changes, fields = ARGS
account = Account.objects.create(name="Bench")
CrmConnection.objects.create(account=account, state=ConnectionState.LEGACY, login_url=server,
    instance_url=server, org_id=org, system_username="bench@bench.test", system_user_id=user)
# The system user's session, as a legacy login would have cached it.
tokens.token_store(account.pk, "bench@bench.test", CrmToken(raw, server,
    f"{server}/id/{org}/{user}", time.time()))
source = source_setup(account=account, object_name="Contact", fields=fields.split(","),
                      schedule="manual")
profile = os.environ.get("BENCH_SYNC_PROFILE")  # a file for the first copy's cProfile stats
start = time.perf_counter()
if profile:
    import cProfile
    with cProfile.Profile() as profiler:
        first = source_run(source_id=source.pk)
    profiler.dump_stats(profile)
else:
    first = source_run(source_id=source.pk)
first_seconds = time.perf_counter() - start
first_load = os.getloadavg()[0]
with psycopg.connect(crm_db, autocommit=True) as conn:
    conn.execute("UPDATE crm_records_contact SET first_name = 'Changed', system_modstamp = now() "
                 "WHERE id IN (SELECT id FROM crm_records_contact ORDER BY random() LIMIT %s)",
                 (changes,))
start = time.perf_counter()
second = source_run(source_id=source.pk)
second_seconds = time.perf_counter() - start
rows = source.data_extension.rows.count()
print(json.dumps({"first": first.__dict__, "first_seconds": first_seconds, "rows": rows,
                  "first_load": first_load,
                  "second": second.__dict__, "second_seconds": second_seconds}))
"""


def _walk(url: str, token: str) -> tuple[int, float]:
    """The raw REST walk of the sync's own query (bench/api's client: requests)."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    start = time.perf_counter()
    body = session.get(
        f"{url}/services/data/v{api.VERSION}/query", params={"q": SOQL}, timeout=120
    ).json()
    records = len(body["records"])
    while not body["done"]:
        body = session.get(url + body["nextRecordsUrl"], timeout=120).json()
        records += len(body["records"])
    return records, time.perf_counter() - start


def run() -> str:
    """Load the CRM, walk it raw, then sync it twice; the Markdown section."""
    with (
        tempfile.TemporaryDirectory() as var,
        api.scratch_database() as crm_db,
        api.scratch_database() as eng_db,
    ):
        base = {**os.environ, "TANDEM_VAR_DIR": var, "PYTHONPATH": str(ROOT)}
        crm_env = {**base, "TANDEM_SERVICE": "crm", "TANDEM_CRM_DATABASE_URL": crm_db}
        api.crm_command(crm_env, "migrate", "-v0")
        ids = json.loads(
            api.crm_command(crm_env, "shell", "-c", api.SETUP).strip().splitlines()[-1]
        )
        api.load_contacts(crm_db, ids["org"], ids["user"], CONTACTS, spread_days=30)
        with api.crm_server(crm_env) as server, bulk.crm_worker(crm_env):
            api.rest_walk(server, ids["token"], max_requests=10)  # warm-up
            walked, walk_seconds = _walk(server, ids["token"])
            walk_load = os.getloadavg()[0]
            queried, query_seconds, _ = bulk.query_job(server, ids["token"], SOQL)
            query_load = os.getloadavg()[0]
            eng_env = {
                **base,
                "TANDEM_SERVICE": "engagement",
                "TANDEM_CRM_URL": server,
                "TANDEM_ENGAGEMENT_DATABASE_URL": eng_db,
            }
            subprocess.run(
                [sys.executable, "-m", "tandem", "engagement", "migrate", "-v0"],
                env=eng_env,
                cwd=ROOT,
                check=True,
            )
            args = [
                server,
                str(ids["org"]),
                str(ids["user"]),
                ids["token"],
                crm_db,
                CHANGES,
                FIELDS,
            ]
            script = SYNC.replace("ARGS", repr(args))
            done = subprocess.run(
                [sys.executable, "-m", "tandem", "engagement", "shell", "-c", script],
                env=eng_env,
                cwd=ROOT,
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise RuntimeError(done.stderr[-3000:])
            result = json.loads(done.stdout.strip().splitlines()[-1])
    result["loads"] = [walk_load, query_load]
    return _section((walked, walk_seconds), (queried, query_seconds), result)


def _section(
    walk: tuple[int, float],
    query: tuple[int, float],
    result: dict,  # type: ignore[type-arg]
) -> str:
    (walked, walk_seconds), (queried, query_seconds) = walk, query
    first, second = result["first"], result["second"]
    sync_rate, walk_rate = first["added"] / result["first_seconds"], walked / walk_seconds
    walk_load, query_load = result["loads"]
    load = os.getloadavg()[1]
    return "\n".join(
        [
            "## bench/sync — synchronized data source, first copy and incremental run",
            "",
            f"PostgreSQL (CRM and Engagement databases on one server), {CONTACTS:,} "
            "contacts in one "
            f"org, one granian CRM worker; {os.cpu_count()} cores shared by the CRM, the sync and "
            f"PostgreSQL (5-minute load average {load:.1f} at the end). Sync fields: `{FIELDS}` "
            "(plus Id, SystemModstamp), through Connect's HTTP client as the system user.",
            "",
            "| measure | rows | seconds | rows/s | 1-min load |",
            "|---|---:|---:|---:|---:|",
            f"| raw REST walk of `{SOQL}` (requests, every batch parsed) | {walked:,} | "
            f"{walk_seconds:.1f} | {walk_rate:,.0f} | {walk_load:.1f} |",
            f"| raw Bulk query job of the same SOQL (create, poll, every results page; CRM worker "
            f"of concurrency 1) | {queried:,} | {query_seconds:.1f} | "
            f"{queried / query_seconds:,.0f} "
            f"| {query_load:.1f} |",
            f"| first sync: every contact copied into `Contact_Salesforce` (by a Bulk query job "
            f"over TANDEM_SYNC_BULK_THRESHOLD) | {first['added']:,} | "
            f"{result['first_seconds']:.1f} | {sync_rate:,.0f} | {result['first_load']:.1f} |",
            f"| incremental sync: {CHANGES:,} changed of {CONTACTS:,} | "
            f"{second['updated']:,} updated "
            f"| {result['second_seconds']:.2f} | | |",
            "",
            f"First sync / raw walk: **{sync_rate / walk_rate:.0%}**. Targets: first sync ≥ 30,000 "
            f"rows/s: **{'met' if sync_rate >= 30_000 else 'NOT met'}**; incremental < 2 s: "
            f"**{'met' if result['second_seconds'] < 2 else 'NOT met'}**. Rows in the copy after "
            f"both runs: {result['rows']:,}.",
        ]
    )
