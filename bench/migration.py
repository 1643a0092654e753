"""bench/migration: Migrate Existing Users for 10,000 mapped users against the live CRM on
PostgreSQL, side by side in the same run with bench/oauth's raw JWT bearer rate.

The CRM runs as bench/oauth serves it (granian, 2 workers, fresh PostgreSQL database); the
Engagement side runs in a process of its own (fresh PostgreSQL database) that calls
`users_migrate` in-process, which reaches the CRM over real HTTP with the production client.
Then `wrk` drives the same CRM with pre-signed JWT assertions (bench/oauth's raw rate).

Run: `python -m bench migration` or `python -m bench.migration`. Needs PostgreSQL at
TANDEM_BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) and `wrk`.
TANDEM_BENCH_USERS (10000), TANDEM_BENCH_SECONDS (10, the raw run), TANDEM_BENCH_PROFILE=1
adds a cProfile of the migration (slower; its figures are then not the headline).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

from cryptography.hazmat.primitives import serialization

from bench.oauth import (
    DURATION,
    JWT_PER_SECOND,
    ROOT,
    Form,
    free_port,
    jwt_bodies,
    key_and_cert,
    measured,
    postgres_database,
    run_tandem,
    served,
    workers_cpu,
)

USERS = int(os.environ.get("TANDEM_BENCH_USERS", "10000"))
PROFILE = os.environ.get("TANDEM_BENCH_PROFILE", "") == "1"
TARGET_RATIO, TARGET_SECONDS = 0.8, 20.0

# The CRM: an org, the Marketing Cloud app as Connect needs it (admin-approved, a linked
# permission set, Relax IP restrictions), and USERS users holding that set. Users and
# assignments are bulk-inserted (a fixture, not the code under test; no password: JWT only).
CRM_SETUP = r"""
import json, os
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile, User
from tandem.crm.users.services import user_create
from tandem.crm.connectedapps.models import ConnectedAppPolicy
from tandem.crm.connectedapps.services import (connected_app_create, connected_app_policy_set,
    connected_app_permission_sets_set)
from tandem.crm.permissions.models import PermissionSetAssignment
from tandem.crm.permissions.services import permission_set_create, permission_set_assign
org = org_create(name="Bench", my_domain="bench")
admin = Profile.objects.get(org=org, name="System Administrator")
standard = Profile.objects.get(org=org, name="Standard User")
system = user_create(org=org, actor=None, username="system@bench.test", email="system@bench.test",
                     last_name="System", profile=admin, password="bench password 1!")
app = connected_app_create(org=org, actor=None, name="Salesforce Marketing Cloud",
    callback_urls=["https://engagement.example/cb"], scopes=["api", "id"],
    certificate=os.environ["BENCH_CERT"])
policy = ConnectedAppPolicy.objects.get(app=app.app, org=org)
connected_app_policy_set(actor=None, policy=policy, permitted_users="AdminApprovedPreAuthorized",
                         ip_relaxation="BYPASS", refresh_token_policy="zero")
ps = permission_set_create(org=org, actor=None, label="MC", api_name="MC")
permission_set_assign(actor=None, permission_set=ps, users=[system])
connected_app_permission_sets_set(actor=None, policy=policy, permission_sets=[ps])
users = []
for i in range(int(os.environ["BENCH_USERS"])):
    user = User(org=org, profile=standard, username=f"u{i:05d}@bench.test",
                email=f"u{i:05d}@bench.test", last_name=f"User {i}")
    user.set_unusable_password()
    users.append(user)
User.objects.bulk_create(users, batch_size=2000)
PermissionSetAssignment.objects.bulk_create(
    [PermissionSetAssignment(permission_set=ps, user=u) for u in users], batch_size=2000)
print(json.dumps({"jwt_key": app.app.client_id, "org_id": org.id, "username": system.username}))
"""

# The Engagement side: an account connected through the Connected App with its 14-day window
# open and USERS previously connected users waiting, then Migrate Existing Users, timed.
# The production HTTP client is wrapped to time its calls by kind (token, identity).
ENGAGEMENT_RUN = r"""
import cProfile, io, json, os, pstats, threading, time
from datetime import timedelta
import django
django.setup()
from django.utils import timezone
from tandem.engagement.accounts.models import Account, Role, User
from tandem.engagement.connect import client as crm_client_module
from tandem.engagement.connect.models import (ConnectedUser, ConnectionState, CrmConnection,
    UserConnectionState)
from tandem.engagement.connect.services.migration import users_migrate
from tandem.engagement.content.models import ContentFile

crm_url = os.environ["TANDEM_CRM_URL"]
account = Account.objects.create(name="Bench")
actor = User.objects.create_user(username="bench-admin", password="bench password 1!",
                                 account=account, role=Role.ADMINISTRATOR)
now = timezone.now()
connection = CrmConnection.objects.create(
    account=account, state=ConnectionState.CONNECTED_APP, login_url=crm_url,
    instance_url=crm_url, org_id=os.environ["BENCH_ORG_ID"],
    system_username=os.environ["BENCH_SYSTEM_USERNAME"], system_user_id="",
    upgraded_at=now, window_ends_at=now + timedelta(days=14))
count = int(os.environ["BENCH_USERS"])
people = [User(username=f"e{i:05d}", account=account, password="!") for i in range(count)]
User.objects.bulk_create(people, batch_size=2000)
people = list(User.objects.filter(account=account).exclude(pk=actor.pk).order_by("username"))
ConnectedUser.objects.bulk_create([
    ConnectedUser(account=account, user=user, crm_username=f"u{i:05d}@bench.test",
                  state=UserConnectionState.LEGACY, was_legacy=True)
    for i, user in enumerate(people)], batch_size=2000)

spent = {"token": [], "identity": []}
original_send = crm_client_module.HttpCrmClient._send
def timed_send(self, method, url, **kwargs):
    started = time.perf_counter()
    try:
        return original_send(self, method, url, **kwargs)
    finally:
        kind = "token" if url.endswith("/services/oauth2/token") else "identity"
        spent[kind].append(time.perf_counter() - started)
crm_client_module.HttpCrmClient._send = timed_send

from django.conf import settings
profiler = cProfile.Profile() if os.environ.get("BENCH_PROFILE") == "1" else None
if profiler:  # cProfile sees one thread: the profiled run makes its calls one after another
    settings.CONNECT_MIGRATION_THREADS = 1
threads = settings.CONNECT_MIGRATION_THREADS
print("BENCH_READY", flush=True)
input()  # the parent samples the CRM workers' CPU, then says go
cpu0, wall0 = time.process_time(), time.perf_counter()
if profiler:
    profiler.enable()
run = users_migrate(actor=actor, connection=connection)
if profiler:
    profiler.disable()
wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
states = dict(ConnectedUser.objects.filter(account=account).values_list("state").annotate(
    n=django.db.models.Count("pk")).values_list("state", "n"))
profile = ""
if profiler:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(r"tandem/|httpx/_client|psycopg/cursor", 25)
    stats.sort_stats("tottime").print_stats(12)
    profile = out.getvalue()
print("BENCH_RESULT " + json.dumps({
    "seconds": wall, "cpu": cpu, "succeeded": run.succeeded, "failed": run.failed,
    "threads": threads,
    "first_failures": [r for r in run.rows if r["status"] != "success"][:3],
    "files": run.files, "file_rows": ContentFile.objects.filter(created_by=actor).count(),
    "states": states,
    "token_calls": len(spent["token"]), "token_seconds": sum(spent["token"]),
    "identity_calls": len(spent["identity"]), "identity_seconds": sum(spent["identity"]),
    "profile": profile,
}), flush=True)
"""


def run() -> str:
    """The Markdown section (the registry in bench/__main__.py writes it)."""
    load_before = os.getloadavg()
    key, cert = key_and_cert()
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    port = free_port()
    crm_url = f"http://localhost:{port}"
    with (
        tempfile.TemporaryDirectory() as var,
        postgres_database() as crm_db,
        postgres_database() as engagement_db,
    ):
        base = {
            **os.environ,
            "TANDEM_VAR_DIR": var,
            "TANDEM_CRM_URL": crm_url,
            "TANDEM_LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            "BENCH_USERS": str(USERS),
        }
        crm_env = {
            **base,
            "TANDEM_SERVICE": "crm",
            "TANDEM_CRM_DATABASE_URL": crm_db,
            "BENCH_CERT": cert,
        }
        engagement_env = {
            **base,
            "TANDEM_SERVICE": "engagement",
            "TANDEM_ENGAGEMENT_DATABASE_URL": engagement_db,
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        print("migrating both databases, creating 2 x", USERS, "users…", flush=True)
        run_tandem(crm_env, "migrate", "--noinput")
        setup = json.loads(run_tandem(crm_env, "shell", "-c", CRM_SETUP).strip().splitlines()[-1])
        _run_engagement_migrate(engagement_env)
        engagement_env |= {
            "TANDEM_MC_CONSUMER_KEY": setup["jwt_key"],
            "TANDEM_CONNECT_PRIVATE_KEY": key_pem,
            "BENCH_ORG_ID": setup["org_id"],
            "BENCH_SYSTEM_USERNAME": setup["username"],
            "BENCH_PROFILE": "1" if PROFILE else "",
        }
        raw_form = Form(
            "/services/oauth2/token",
            "",
            jwt_bodies_for(key, setup["jwt_key"], setup["username"], crm_url),
        )
        with served(crm_env, port) as server:
            migration = _migrate(engagement_env, server.pid)
            raw = measured("JWT bearer (RFC 7523), raw", port, server.pid, raw_form)
    return report(migration, raw, load_before, os.getloadavg())


def jwt_bodies_for(key: object, iss: str, sub: str, audience: str) -> list[str]:
    """bench/oauth's pre-signed bodies, with this CRM's URL as the audience."""
    import bench.oauth as oauth

    saved = oauth.LOGIN_URL
    oauth.LOGIN_URL = audience
    try:
        return jwt_bodies(key, iss, sub, int(DURATION * JWT_PER_SECOND))  # type: ignore[arg-type]
    finally:
        oauth.LOGIN_URL = saved


def _run_engagement_migrate(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tandem", "engagement", "migrate", "--noinput"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr)


def _migrate(env: dict[str, str], master: int) -> dict[str, object]:
    """Set up the Engagement side, then time Migrate Existing Users and the CRM's CPU."""
    process = subprocess.Popen(
        [sys.executable, "-c", ENGAGEMENT_RUN],
        env=env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    for line in process.stdout:
        if line.startswith("BENCH_READY"):
            break
    else:
        raise RuntimeError("the Engagement side did not get ready")
    cpu_before = workers_cpu(master)
    load = os.getloadavg()[0]
    process.stdin.write("go\n")
    process.stdin.flush()
    result: dict[str, object] = {}
    for line in process.stdout:
        if line.startswith("BENCH_RESULT "):
            result = json.loads(line.removeprefix("BENCH_RESULT "))
    if process.wait() != 0 or not result:
        raise RuntimeError("the migration run failed")
    result["crm_cpu"] = workers_cpu(master) - cpu_before
    result["load_at_start"] = load
    return result


def report(
    m: dict[str, object],
    raw: object,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> str:
    seconds = float(m["seconds"])  # type: ignore[arg-type]
    succeeded, failed = int(m["succeeded"]), int(m["failed"])  # type: ignore[call-overload]
    users = succeeded + failed
    threads = int(m["threads"])  # type: ignore[call-overload]
    rate = succeeded / seconds if seconds else 0.0
    raw_rate = raw.rate  # type: ignore[attr-defined]
    ratio = rate / raw_rate if raw_rate else 0.0
    per_10k = 10_000 / rate if rate else float("inf")
    token_seconds = float(m["token_seconds"])  # type: ignore[arg-type]
    token_calls = int(m["token_calls"])  # type: ignore[call-overload]
    # The worker threads' time: how much of it went waiting for the CRM's token endpoint.
    token_share = token_seconds / (threads * seconds) if seconds else 0.0
    token_ms = token_seconds / token_calls * 1000 if token_calls else 0.0
    crm_ms = float(m["crm_cpu"]) / max(users, 1) * 1000  # type: ignore[arg-type]
    engagement_ms = float(m["cpu"]) / max(users, 1) * 1000  # type: ignore[arg-type]
    met = ratio >= TARGET_RATIO and per_10k < TARGET_SECONDS and failed == 0 and users >= 10_000
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    profiled = bool(m.get("profile"))
    lines = [
        f"## bench/migration: Migrate Existing Users, {users:,} users, live CRM",
        "",
        f"`python -m bench migration` (TANDEM_BENCH_USERS={USERS}) on {os.cpu_count()} cores, "
        f"{stamp}; load average (1, 5, 15 min) before {_load(load_before)}, at the migration's "
        f"start {m['load_at_start']:.1f}, after {_load(load_after)} (its own processes included): "
        "the machine is shared with "
        "other engineers' work, which takes its share of the same two cores from both rows "
        "alike. The CRM under granian, 2 WSGI workers (as bench/oauth and `tandem up` serve it), "
        "on a fresh PostgreSQL database; the Engagement side in a process of its own on another "
        "fresh PostgreSQL database, calling `users_migrate` with the production HTTP client "
        f"({threads} thread{'s' if threads > 1 else ''} of CRM calls, "
        "TANDEM_CONNECT_MIGRATION_THREADS; real JWT bearer grants, signed in the Engagement "
        "process, over loopback HTTP). Raw rate: bench/oauth's wrk run (pre-signed assertions, "
        f"16 kept-alive connections, {DURATION:.0f} s) against the same CRM process right after "
        "the migration."
        + (
            " **Profiled run** (cProfile, one thread): its rates are not the headline."
            if profiled
            else ""
        ),
        "",
        "| run | users / requests | OK | seconds | per second | CRM worker CPU per user / grant |",
        "|---|---:|---:|---:|---:|---:|",
        f"| Migrate Existing Users | {users:,} | {succeeded:,} | {seconds:.1f} | "
        f"**{rate:,.0f}** | {crm_ms:.1f} ms |",
        f"| raw JWT bearer (wrk) | {raw.requests:,} | {raw.ok:,} | {raw.seconds:.1f} | "  # type: ignore[attr-defined]
        f"**{raw_rate:,.0f}** | {raw.cpu_ms:.1f} ms |",  # type: ignore[attr-defined]
        "",
        f"Migration / raw: **{ratio:.2f}x** (target ≥ {TARGET_RATIO}x); "
        + (
            f"all 10,000 in **{seconds:.1f} s**"
            if users == 10_000
            else f"10,000 at this rate would take **{per_10k:.1f} s**"
        )
        + f" (target < {TARGET_SECONDS:.0f} s): "
        f"{'met' if met else 'NOT met in this run'}.",
        "",
        f"Time in the CRM's token endpoint: {token_calls:,} calls, {token_ms:.1f} ms each on "
        f"average as the client saw them, **{token_share:.0%}** of the {threads} worker "
        f"thread{'s' if threads > 1 else ''}' time ({token_seconds:.1f} s of "
        f"{threads * seconds:.1f} s); the rest is signing the assertions, the HTTP client and "
        f"waiting for a turn on the cores. {m['identity_calls']:,} identity calls "
        f"({float(m['identity_seconds']):.1f} s): the token answer's `id` names org and user. "  # type: ignore[arg-type]
        f"CPU per user: CRM web workers {crm_ms:.1f} ms, the Engagement process "
        f"{engagement_ms:.1f} ms (signing, HTTP client, its batched writes, the files), against "
        f"{raw.cpu_ms:.1f} ms of CRM worker CPU per raw grant; PostgreSQL's share is in neither. "  # type: ignore[attr-defined]
        f"Outcome: {json.dumps(m['states'])}, files {', '.join(m['files'])} "  # type: ignore[arg-type]
        f"({m['file_rows']} file rows).",
    ]
    # By CPU alone (PostgreSQL's share left out of both): the raw row's CRM cost per grant
    # against everything a migrated user costs on the same two cores.
    cpu_bound = raw.cpu_ms / (crm_ms + engagement_ms) if crm_ms + engagement_ms else 0.0  # type: ignore[attr-defined]
    lines += [
        "",
        "Why the target is missed: the raw row gives both cores to the CRM (wrk, in C, sends "
        "pre-signed assertions for one user and costs next to nothing), while the migration "
        "shares them with the Engagement process, which signs every assertion (RS256, about "
        "0.3 ms) and runs the HTTP client, and every grant is for another user (a first "
        "usage row, colder pages). By CPU per user alone the migration can reach about "
        f"{raw.cpu_ms:.1f} / ({crm_ms:.1f} + {engagement_ms:.1f}) = {cpu_bound:.2f} of the "  # type: ignore[attr-defined]
        "raw rate; 0.8 would need all that a migrated user costs beyond the grant itself (the "
        "Engagement's share, the CRM's extra for a new user) to stay under a quarter of a grant.",
        "",
        "What was changed after the first runs (2026-12-06, load 7 to 10 from other work):",
        "- The first draft migrated **5 users/s** (300 in 62 s): every assertion parsed "
        "Connect's PEM key again, and reading an RSA key checks it (122 ms of the 167 ms per "
        "user in the profile). The key is now parsed once per process.",
        "- Then 15 users/s, one user after another, each waiting for two CRM calls (token, "
        "identity) and four statements. Now the CRM calls of 8 users run at once "
        "(TANDEM_CONNECT_MIGRATION_THREADS; 4 and 16 were slower) and outcomes are recorded "
        "every 200 users or 2 s: one UPDATE for the successes, one per distinct refusal, one "
        "usage upsert, with the same conditions as before (only while the account uses the "
        "Connected App and the user still waits); a stopped run loses only unrecorded "
        "attempts, which the next run retries. 2,000 users: about 100/s.",
        "- The identity URL read the token and then the user through the ORM (3.3 ms of CPU "
        "in process); it is now one plain statement (1.0 ms). The migration no longer calls it "
        "at all: the token answer's `id` (`/id/<orgId>/<userId>`) names the org it checks and "
        "the user id it stores, so one CRM call per user (2,000 users: 86 to 107/s with the "
        "call, 196 to 250/s without, same load).",
        "- One-thread profile, 2,000 users: 86% of the time waiting for the token endpoint, "
        "0.3 ms signing per user, 32 statements in all for the outcomes.",
        "- (2026-12-07) The run's rows were one JSON value, written whole after every batch, "
        "so recording grew with the square of the users. Each batch now inserts its own "
        "users' rows (MigrationOutcome). Recording alone, CRM answers replaced by instant "
        "successes, PostgreSQL, 200 a batch: 10,000 users 3.0 s before, 1.8 to 1.9 s after "
        "(the last batches 73 ms before, 24 ms after); 20,000 users 10.3 s before (136 ms), "
        "6.1 s after (25 ms). The live run above is bound by the CRM, and shows no difference "
        "beyond the machine's load.",
    ]
    if m.get("first_failures"):
        lines += ["", f"First failures: `{json.dumps(m['first_failures'])[:600]}`"]
    if profiled:
        lines += ["", "```", str(m["profile"]).strip()[:6000], "```"]
    return "\n".join(lines) + "\n"


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{x:.1f}" for x in load)


if __name__ == "__main__":
    print(run())  # `python -m bench migration` also writes RESULTS.md
