"""bench/oauth_profile: in-process CPU and SQL statements per request for the client-credentials
baseline, the JWT bearer grant and introspection (Django test client through the full middleware
stack, PostgreSQL), plus a cProfile of each. Load-independent: CPU time, not wall time.

Run: `python -m bench.oauth_profile [--profile]`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from bench.oauth import ROOT, bench_crm

N = int(os.environ.get("TANDEM_BENCH_PROFILE_REQUESTS", "400"))

SCRIPT = r"""
import base64, cProfile, io, json, os, pstats, sys, time, uuid
import django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup()
import jwt
from urllib.parse import urlencode
from django.db import connection
from django.test import Client
setup = json.loads(os.environ["BENCH_SETUP"])
key = os.environ["BENCH_KEY"]
N = int(os.environ["BENCH_N"])
FORM = "application/x-www-form-urlencoded"
basic = "Basic " + base64.b64encode(f"{setup['cc_key']}:{setup['cc_secret']}".encode()).decode()
def jwt_body():
    return urlencode({"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
        "assertion": jwt.encode({"iss": setup["jwt_key"], "sub": setup["username"],
        "aud": "http://localhost:8001", "exp": int(time.time()) + 170, "jti": uuid.uuid4().hex},
        key, algorithm="RS256")})
client = Client(HTTP_HOST="localhost")
cc = urlencode({"grant_type": "client_credentials"})
token = client.post("/services/oauth2/token", cc, content_type=FORM,
                    HTTP_AUTHORIZATION=basic).json()["access_token"]
intro = urlencode({"token": token})
kinds = {
    "client credentials (baseline)": lambda: (cc, {"HTTP_AUTHORIZATION": basic}),
    "JWT bearer (RFC 7523)": None,
    "introspection (RFC 7662)": lambda: (intro, {"HTTP_AUTHORIZATION": basic}),
}
jwt_bodies = [jwt_body() for _ in range(N + 20)]
def requests(name):
    if kinds[name] is None:
        return [(b, {}) for b in jwt_bodies]
    return [kinds[name]() for _ in range(N + 20)]
def path_of(name):
    return "/services/oauth2/introspect" if "intro" in name else "/services/oauth2/token"
out = {}
for name in kinds:
    reqs = requests(name)
    for body, extra in reqs[:10]:  # warm-up
        r = client.post(path_of(name), body, content_type=FORM, **extra)
        assert r.status_code == 200, r.content
        assert "intro" not in name or r.json()["active"] is True, r.content
        answers = r.content.decode()
    path = path_of(name)
    seen = []
    def record(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)
    with connection.execute_wrapper(record):
        r = client.post(path, reqs[10][0], content_type=FORM, **reqs[10][1])
        assert r.status_code == 200, r.content
    profiler = cProfile.Profile(time.process_time) if "--profile" in sys.argv else None
    started = time.process_time()
    if profiler: profiler.enable()
    for body, extra in reqs[11:11 + N]:
        r = client.post(path, body, content_type=FORM, **extra)
        assert r.status_code == 200, r.content
    if profiler: profiler.disable()
    cpu = (time.process_time() - started) / N * 1000
    out[name] = {"cpu_ms": round(cpu, 3), "queries": len(seen),
                 "sql": [q[:120] for q in seen], "answer": answers[:300]}
    if profiler:
        s = io.StringIO()
        stats = pstats.Stats(profiler, stream=s)
        ours = r"tandem/|oauthlib/|oauth2_provider/|jwt/|middleware"
        stats.sort_stats("cumulative").print_stats(ours, 45)
        stats.sort_stats("tottime").print_stats(25)
        out[name]["profile"] = s.getvalue()
print("BENCH_JSON" + json.dumps(out))
"""


def run(profile: bool = False) -> dict[str, dict[str, object]]:
    """Per-request CPU (ms, in-process), SQL statements and the statements themselves."""
    with bench_crm() as (env, _key, key_pem, setup):
        argv = [sys.executable, "-c", SCRIPT] + (["--profile"] if profile else [])
        out = subprocess.run(
            argv,
            env={**env, "BENCH_SETUP": json.dumps(setup), "BENCH_KEY": key_pem, "BENCH_N": str(N)},
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=900,
        )
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        line = [x for x in out.stdout.splitlines() if x.startswith("BENCH_JSON")][-1]
        return dict(json.loads(line.removeprefix("BENCH_JSON")))


def main() -> int:
    """Print the figures (and, with --profile, the profiles)."""
    results = run(profile="--profile" in sys.argv)
    print(f"load average {os.getloadavg()[0]:.1f}")
    for name, figures in results.items():
        print(f"{name}: {figures['cpu_ms']} ms CPU/request, {figures['queries']} SQL statements")
        print("    answer:", figures["answer"])
        for sql in figures["sql"]:  # type: ignore[attr-defined]
            print("    ", sql)
        if "profile" in figures:
            print(figures["profile"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
