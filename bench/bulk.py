"""bench/bulk: rows per second of Bulk API 2.0 ingest and query jobs of a million contacts.

On PostgreSQL, through the real HTTP endpoints (one granian CRM worker) and the real CRM Celery
worker process, each beside its floor in the same run:
- ingest: create an insert job, PUT a CSV of BULK_CONTACTS contacts (FirstName, LastName,
  Email, AccountId), UploadComplete, poll until JobComplete. Floor: psycopg `COPY … FROM STDIN`
  of the same rows (with the columns a record needs: id, org, owner, dates, name) into the
  same table, which is then emptied again before the job runs.
- query: create a query job of the same contacts, poll until JobComplete, fetch every page by
  Sforce-Locator. Floor: psycopg `COPY (SELECT …) TO STDOUT WITH CSV` of the same columns.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench.api import ROOT, SETUP, crm_command, crm_server, record_id, scratch_database

CONTACTS = int(os.environ.get("BULK_CONTACTS", "1000000"))
VERSION = "62.0"
SOQL = "SELECT Id, FirstName, LastName, Email, AccountId FROM Contact"
POLL = 0.05


def _csv(account_ids: list[str]) -> bytes:
    rng = random.Random(2)
    out = io.StringIO()
    out.write("FirstName,LastName,Email,AccountId\n")
    firsts = ("Ada", "Alan", "Grace", "Edsger", "Barbara")
    for n in range(CONTACTS):
        first = rng.choice(firsts)
        account = account_ids[n % len(account_ids)]
        out.write(f"{first},Last{n},{first.lower()}.{n}@example.com,{account}\n")
    return out.getvalue().encode()


def _accounts(url: str, org_id: str, user_id: str) -> list[str]:
    import psycopg

    rng = random.Random(1)
    now = dt.datetime.now(dt.UTC)
    ids = [record_id("001", rng) for _ in range(max(1, CONTACTS // 20))]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY crm_records_account (id, org_id, owner_id, created_date, "
            "last_modified_date, system_modstamp, is_deleted, name) FROM STDIN"
        ) as copy:
            for account_id in ids:
                copy.write_row((account_id, org_id, user_id, now, now, now, False, "Account"))
        cur.execute("ANALYZE crm_records_account")
    return ids


def _ingest_floor(url: str, org_id: str, user_id: str, data: bytes) -> float:
    """Seconds of a bare COPY of the upload's rows (rows typed beforehand, not timed)."""
    import psycopg

    rng = random.Random(3)
    now = dt.datetime.now(dt.UTC).isoformat()
    body = io.StringIO()
    for line in data.decode().splitlines()[1:]:
        first, last, email, account = line.split(",")
        body.write(
            f"{record_id('003', rng)},{org_id},{user_id},{now},{now},{now},f,{first},{last},"
            f"{first} {last},{email},f,{account}\n"
        )
    payload = body.getvalue().encode()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        with cur.copy(
            "COPY crm_records_contact (id, org_id, owner_id, created_date, last_modified_date, "
            "system_modstamp, is_deleted, first_name, last_name, name, email, "
            "has_opted_out_of_email, account_id) FROM STDIN WITH (FORMAT csv)"
        ) as copy:
            for offset in range(0, len(payload), 1 << 20):
                copy.write(payload[offset : offset + (1 << 20)])
        conn.commit()
        seconds = time.perf_counter() - start
        cur.execute("TRUNCATE crm_records_contact CASCADE")
        conn.commit()
    return seconds


def _query_floor(url: str, org_id: str) -> tuple[int, float]:
    import psycopg

    with psycopg.connect(url) as conn, conn.cursor() as cur:
        start = time.perf_counter()
        size = 0
        with cur.copy(
            "COPY (SELECT id, first_name, last_name, email, account_id FROM crm_records_contact "
            f"WHERE org_id = '{org_id}' AND NOT is_deleted ORDER BY id) TO STDOUT WITH CSV"
        ) as copy:
            for block in copy:
                size += len(block)
        return cur.rowcount, time.perf_counter() - start


@contextmanager
def crm_worker(env: dict[str, str]) -> Iterator[None]:
    process = subprocess.Popen(
        [sys.executable, "-m", "tandem", "worker", "--service", "crm", "--concurrency", "1"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.terminate()
        process.wait(timeout=60)


def _session(token: str) -> Any:
    import requests

    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    return session


def _wait(session: Any, url: str) -> dict[str, Any]:
    while True:
        info: dict[str, Any] = session.get(url, timeout=60).json()
        if info["state"] not in ("UploadComplete", "InProgress", "Open"):
            return info
        time.sleep(POLL)


def _ingest(server: str, token: str, data: bytes) -> tuple[dict[str, Any], float]:
    session = _session(token)
    jobs = f"{server}/services/data/v{VERSION}/jobs/ingest"
    start = time.perf_counter()
    job = session.post(jobs, json={"object": "Contact", "operation": "insert"}, timeout=60).json()
    put = session.put(
        f"{jobs}/{job['id']}/batches", data=data, headers={"Content-Type": "text/csv"}, timeout=600
    )
    assert put.status_code == 201, put.text
    session.patch(f"{jobs}/{job['id']}", json={"state": "UploadComplete"}, timeout=60)
    info = _wait(session, f"{jobs}/{job['id']}")
    return info, time.perf_counter() - start


def query_job(server: str, token: str, soql: str = SOQL) -> tuple[int, float, int]:
    """A query job of `soql` from its creation to its last results page: (rows, seconds, pages)."""
    session = _session(token)
    jobs = f"{server}/services/data/v{VERSION}/jobs/query"
    start = time.perf_counter()
    job = session.post(jobs, json={"operation": "query", "query": soql}, timeout=60).json()
    info = _wait(session, f"{jobs}/{job['id']}")
    assert info["state"] == "JobComplete", info
    rows, pages, locator = 0, 0, None
    while locator != "null":
        params = {"locator": locator} if locator else {}
        page = session.get(f"{jobs}/{job['id']}/results", params=params, timeout=600)
        rows += int(page.headers["Sforce-NumberOfRecords"])
        locator, pages = page.headers["Sforce-Locator"], pages + 1
    return rows, time.perf_counter() - start, pages


def _row(label: str, rows: int, seconds: float, load: float) -> str:
    return f"| {label} | {rows:,} | {seconds:.1f} | {rows / seconds:,.0f} | {load:.2f} |"


def run() -> str:
    with tempfile.TemporaryDirectory() as var, scratch_database() as url:
        env = {
            **os.environ,
            "TANDEM_SERVICE": "crm",
            "TANDEM_VAR_DIR": var,
            "TANDEM_CRM_DATABASE_URL": url,
            "PYTHONPATH": str(ROOT),
        }
        crm_command(env, "migrate", "-v0")
        ids = json.loads(crm_command(env, "shell", "-c", SETUP).strip().splitlines()[-1])
        data = _csv(_accounts(url, ids["org"], ids["user"]))
        ingest_floor = _ingest_floor(url, ids["org"], ids["user"], data)
        load_ingest_floor = os.getloadavg()[0]
        with crm_server(env) as server, crm_worker(env):
            info, ingest_seconds = _ingest(server, ids["token"], data)
            load_ingest = os.getloadavg()[0]
            assert info["state"] == "JobComplete", info
            assert info["numberRecordsProcessed"] == CONTACTS, info
            assert info["numberRecordsFailed"] == 0, info
            query_floor_rows, query_floor = _query_floor(url, ids["org"])
            load_query_floor = os.getloadavg()[0]
            query_rows, query_seconds, pages = query_job(server, ids["token"])
            load_query = os.getloadavg()[0]
    ingest_rate, ingest_floor_rate = CONTACTS / ingest_seconds, CONTACTS / ingest_floor
    query_rate, query_floor_rate = query_rows / query_seconds, query_floor_rows / query_floor
    ingest_ratio, query_ratio = ingest_rate / ingest_floor_rate, query_rate / query_floor_rate
    ingest_met = ingest_rate >= 50_000 and ingest_ratio >= 0.3
    query_met = query_rate >= 150_000 and query_ratio >= 0.5
    return "\n".join(
        [
            "## bench/bulk — Bulk API 2.0 ingest and query jobs",
            "",
            f"PostgreSQL, {CONTACTS:,} contacts of one org (CSV "
            "`FirstName,LastName,Email,AccountId`,"
            f" {len(data) / 1e6:.0f} MB, {CONTACTS // 20:,} accounts), through HTTP (one granian "
            f"worker, client requests) and the CRM Celery worker (concurrency 1); {os.cpu_count()} "
            "cores shared by client, server, worker and PostgreSQL. Load is the 1-minute load "
            "average right after each figure.",
            "",
            "| path | rows | seconds | rows/s | load |",
            "|---|---:|---:|---:|---:|",
            _row(
                "ingest job: create, PUT CSV, UploadComplete, poll to JobComplete",
                CONTACTS,
                ingest_seconds,
                load_ingest,
            ),
            _row(
                "floor: psycopg `COPY contact FROM STDIN` of the same rows",
                CONTACTS,
                ingest_floor,
                load_ingest_floor,
            ),
            _row(
                f"query job: create, poll, {pages} result pages by Sforce-Locator",
                query_rows,
                query_seconds,
                load_query,
            ),
            _row(
                "floor: psycopg `COPY (SELECT …) TO STDOUT WITH CSV`",
                query_floor_rows,
                query_floor,
                load_query_floor,
            ),
            "",
            f"Ingest / floor: **{ingest_ratio:.2f}x** (targets ≥ 50,000 rows/s and ≥ 0.3x: "
            f"**{'met' if ingest_met else 'NOT met'}**). Query / floor: **{query_ratio:.2f}x** "
            f"(targets ≥ 150,000 rows/s and ≥ 0.5x: **{'met' if query_met else 'NOT met'}**).",
            "",
            f"Of the ingest job's {ingest_seconds:.1f} s, its chunks (typing, COPY, "
            "results, commit) "
            f"took {info['totalProcessingTime'] / 1000:.1f} s (`totalProcessingTime`); the rest is "
            "the upload, parsing it, the hand-over to the worker and polling.",
        ]
    )
