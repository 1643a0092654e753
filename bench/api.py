"""bench/api: records per second of a full query + queryMore walk through the HTTP API.

On PostgreSQL: CONTACTS contacts in one org, one granian CRM worker, a client following
nextRecordsUrl to the end and parsing every batch. Beside it, in the same run, the floor a
Python process reaches on the same rows: a bare psycopg fetch of them, serialized to the same
JSON. Then a real client on the same walk in the same run: jsforce's autoFetch (Node, from
tests/e2e/clients, `make node-deps`). Then the cost of metering per request (the two statements
every API call makes).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import socket
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tandem.cli.up import web_argv

ROOT = Path(__file__).resolve().parent.parent
CLIENTS = ROOT / "tests" / "e2e" / "clients"
CONTACTS = int(os.environ.get("BENCH_API_CONTACTS", "1000000"))
POSTGRES = os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
SOQL = "SELECT Id, FirstName, LastName, Email, AccountId, CreatedDate FROM Contact"
COLUMNS = "id, first_name, last_name, email, account_id, created_date"
VERSION = "59.0"
BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase

SETUP = r"""
import datetime as dt, hashlib, json, secrets
from django.utils import timezone
from tandem.crm.connectedapps.services import connected_app_create
from tandem.crm.oauth.models import AccessToken
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile, ProfileName
from tandem.crm.users.services import user_create
org = org_create(name="Bench", my_domain="bench")
org.api_daily_limit = 10_000_000
org.save()
user = user_create(org=org, actor=None, username="bench@bench.test", email="bench@bench.test",
    last_name="Bench", profile=Profile.objects.get(org=org, name=ProfileName.SYSTEM_ADMINISTRATOR),
    password=secrets.token_urlsafe(16))
app = connected_app_create(org=org, actor=None, name="Bench", callback_urls=["https://x.test/cb"],
    scopes=["api"]).app
raw = secrets.token_urlsafe(32)
AccessToken.objects.create(user=user, application=app, token="",
    token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
    expires=timezone.now() + dt.timedelta(hours=6), scope="api")
print(json.dumps({"org": org.id, "user": user.id, "token": raw}))
"""

METERING = r"""
import json, time
from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.metering import api_usage_record, api_usage_used
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import User
org = Org.objects.get(pk=ORG)
principal = ApiPrincipal(org=org, user=User.objects.get(pk=USER), connected_app_id="x",
                         connected_app_name="Bench", scopes=frozenset({"api"}))
N = 2000
start = time.perf_counter()
for _ in range(N):
    api_usage_used(org=org)
    api_usage_record(principal=principal, counts=True)
print(json.dumps({"per_request_us": (time.perf_counter() - start) / N * 1e6}))
"""


def _checksum(id15: str) -> str:
    suffix = []
    for start in (0, 5, 10):
        mask = sum(1 << bit for bit, c in enumerate(id15[start : start + 5]) if "A" <= c <= "Z")
        suffix.append((string.ascii_uppercase + "012345")[mask])
    return "".join(suffix)


def record_id(prefix: str, rng: random.Random) -> str:
    id15 = prefix + "".join(rng.choices(BASE62, k=12))
    return id15 + _checksum(id15)


@contextmanager
def scratch_database() -> Iterator[str]:
    import psycopg

    parts = urlsplit(POSTGRES)
    name = f"tandem_bench_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def crm_command(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def load_contacts(
    url: str, org_id: str, user_id: str, count: int = CONTACTS, spread_days: int = 0
) -> None:
    """`count` contacts (and an account per 20) by COPY: the data, not the seeding, is measured.
    With `spread_days`, each was last modified at a random time over those days before
    yesterday, as in a live org (bench/sync: changes not all inside one overlap window)."""
    import psycopg

    rng = random.Random(1)
    now = dt.datetime.now(dt.UTC) - dt.timedelta(days=1 if spread_days else 0)
    accounts = [record_id("001", rng) for _ in range(max(1, count // 20))]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy(
            "COPY crm_records_account (id, org_id, owner_id, created_date, "
            "last_modified_date, system_modstamp, is_deleted, name) FROM STDIN"
        ) as copy:
            for account_id in accounts:
                copy.write_row((account_id, org_id, user_id, now, now, now, False, "Account"))
        with cur.copy(
            "COPY crm_records_contact (id, org_id, owner_id, created_date, "
            "last_modified_date, system_modstamp, is_deleted, first_name, last_name, "
            "name, email, has_opted_out_of_email, account_id) FROM STDIN"
        ) as copy:
            for n in range(count):
                first, last = rng.choice(("Ada", "Alan", "Grace")), f"Last{n}"
                at = now
                if spread_days:
                    at = now - dt.timedelta(seconds=rng.randrange(spread_days * 86400))
                copy.write_row(
                    (
                        record_id("003", rng),
                        org_id,
                        user_id,
                        at,
                        at,
                        at,
                        False,
                        first,
                        last,
                        f"{first} {last}",
                        f"{first.lower()}.{n}@example.com",
                        False,
                        accounts[n % len(accounts)],
                    )
                )
        cur.execute("ANALYZE crm_records_contact")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def crm_server(env: dict[str, str]) -> Iterator[str]:
    import httpx

    port = _free_port()
    process = subprocess.Popen(
        web_argv("127.0.0.1", port, workers=1, access_log=False),
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def rest_walk(url: str, token: str, max_requests: int | None = None) -> tuple[int, float, int]:
    """(records, seconds, requests) of query + every nextRecordsUrl, each batch parsed.

    The client is requests, as simple-salesforce uses: reading large bodies costs it a
    third of what httpx's pure-Python HTTP parser does."""
    import requests

    session = requests.Session()
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {token}"
    start = time.perf_counter()
    response = session.get(f"{url}/services/data/v{VERSION}/query", params={"q": SOQL}, timeout=60)
    body = response.json()
    records, requests_made = len(body["records"]), 1
    while not body["done"] and (max_requests is None or requests_made < max_requests):
        body = session.get(url + body["nextRecordsUrl"], timeout=60).json()
        records += len(body["records"])
        requests_made += 1
    return records, time.perf_counter() - start, requests_made


def _jsforce_walk(url: str, token: str) -> tuple[int, float]:
    """(records, seconds) of jsforce walking the same query with autoFetch (Node's start-up
    is not counted: the script times the walk itself)."""
    config = {
        "instanceUrl": url,
        "accessToken": token,
        "soql": SOQL,
        "version": VERSION,
        "maxFetch": CONTACTS,
    }
    done = subprocess.run(
        ["node", "autofetch_walk.mjs"],
        cwd=CLIENTS,
        capture_output=True,
        text=True,
        check=True,
        env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "CLIENT_CONFIG": json.dumps(config)},
    )
    result = json.loads(done.stdout)
    return int(result["records"]), float(result["seconds"])


def _floor(url: str, org_id: str) -> tuple[int, float]:
    """The same rows fetched with psycopg alone and serialized to the same JSON, per 2,000."""
    import psycopg

    prefix = f"/services/data/v{VERSION}/sobjects/Contact/"
    count = 0
    start = time.perf_counter()
    with psycopg.connect(url) as conn, conn.cursor(name="floor") as cur:
        cur.itersize = 2000
        cur.execute(
            f"SELECT {COLUMNS} FROM crm_records_contact "
            "WHERE org_id = %s AND NOT is_deleted ORDER BY id",
            (org_id,),
        )
        while rows := cur.fetchmany(2000):
            records = [
                {
                    "attributes": {"type": "Contact", "url": prefix + r[0]},
                    "Id": r[0],
                    "FirstName": r[1],
                    "LastName": r[2],
                    "Email": r[3],
                    "AccountId": r[4],
                    "CreatedDate": r[5].strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
                }
                for r in rows
            ]
            json.loads(json.dumps({"totalSize": CONTACTS, "done": False, "records": records}))
            count += len(rows)
    return count, time.perf_counter() - start


def run() -> str:
    """Load the data, walk it both ways, measure metering; the Markdown section."""
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
        load_start = time.perf_counter()
        load_contacts(url, ids["org"], ids["user"])
        load_seconds = time.perf_counter() - load_start
        floor_count, floor_seconds = _floor(url, ids["org"])
        with crm_server(env) as server:
            rest_walk(server, ids["token"], max_requests=10)  # warm-up: imports, caches
            api_count, api_seconds, requests = rest_walk(server, ids["token"])
            jsforce_count, jsforce_seconds = _jsforce_walk(server, ids["token"])
        script = METERING.replace("ORG", repr(ids["org"])).replace("USER", repr(ids["user"]))
        metering = json.loads(crm_command(env, "shell", "-c", script).strip().splitlines()[-1])
    api_rate, floor_rate = api_count / api_seconds, floor_count / floor_seconds
    jsforce_rate = jsforce_count / jsforce_seconds
    load = os.getloadavg()[1]
    return "\n".join(
        [
            "## bench/api — query + queryMore walk over the REST API",
            "",
            f"PostgreSQL, {CONTACTS:,} contacts in one org (loaded by COPY in "
            f"{load_seconds:.0f} s), "
            f"`{SOQL}`, 2,000 records a batch, one granian worker, client requests parsing every "
            f"batch; {os.cpu_count()} cores shared by server, client and PostgreSQL (5-minute load "
            f"average {load:.1f} at the end: other work on the machine slows both rows alike).",
            "",
            "| path | records | seconds | records/s |",
            "|---|---:|---:|---:|",
            f"| HTTP API: query + {requests - 1} queryMore | {api_count:,} | {api_seconds:.1f} | "
            f"{api_rate:,.0f} |",
            f"| floor: bare psycopg fetch → same JSON (dumps + loads) | {floor_count:,} | "
            f"{floor_seconds:.1f} | {floor_rate:,.0f} |",
            f"| jsforce autoFetch records/s (same walk, `query().run({{autoFetch: true}})`) | "
            f"{jsforce_count:,} | {jsforce_seconds:.1f} | {jsforce_rate:,.0f} |",
            "",
            f"jsforce / raw query walk: **{jsforce_rate / api_rate:.0%}**.",
            "",
            f"API / floor: **{api_rate / floor_rate:.0%}** (target ≥ 50%); API rate target "
            "≥ 50,000 "
            f"records/s: **{'met' if api_rate >= 50_000 else 'NOT met'}**.",
            "",
            f"Metering per request (rolling-24 h sum + bucket upsert, in process on PostgreSQL): "
            f"**{metering['per_request_us']:.0f} µs**; per 2,000-record batch request that is "
            f"{metering['per_request_us'] / (api_seconds / requests * 1e6):.1%} of its time.",
        ]
    )
