"""Login throttles are shared by every web process: two real granian servers per service, one
database (its cache table) or one Redis between them. A count kept in each process's memory
would let the second server accept what the first has already refused."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tandem.cli.ports import free_port
from tandem.cli.up import web_argv
from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import databases
from tests.e2e.waiting import wait_for

PASSWORD = "Correct-Horse-9-battery"
REDIS_URL = "redis://127.0.0.1:6379/14"
LIMIT = 3


def _redis_reachable() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_timeout=2).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["database", "redis"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, str]]:
    if request.param == "redis" and not _redis_reachable():
        pytest.skip(f"Redis is not running at {REDIS_URL}")
    with databases() as database_env:
        environ = {
            **os.environ,
            **database_env,
            "TANDEM_VAR_DIR": str(tmp_path),
            "PYTHONPATH": str(PROJECT_ROOT),
            "TANDEM_CRM_LOGIN_THROTTLE": str(LIMIT),
            "TANDEM_ENGAGEMENT_LOGIN_THROTTLE": str(LIMIT),
        }
        environ.pop("TANDEM_CACHE_URL", None)
        if request.param == "redis":
            # Redis outlives the run: each test's client address is drawn afresh below.
            environ["TANDEM_CACHE_URL"] = REDIS_URL
        yield environ


def tandem(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def serve_twice(stack: ExitStack, env: dict[str, str], service: str, log: Path) -> list[str]:
    """Two granian servers of `service` on two ports, one worker each; their base URLs."""
    urls = []
    for _ in range(2):
        port = free_port()
        out = stack.enter_context(log.open("ab"))
        process = subprocess.Popen(
            web_argv("127.0.0.1", port, workers=1, access_log=False),
            env={**env, "TANDEM_SERVICE": service},
            cwd=PROJECT_ROOT,
            stdout=out,
            stderr=out,
        )
        stack.callback(_stop, process)
        urls.append(f"http://127.0.0.1:{port}")
    for url in urls:
        wait_for(
            lambda url=url: _healthy(url),
            60,
            interval=0.2,
            what=lambda url=url: f"{url} to answer:\n{log.read_text()}",
        )
    return urls


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def form_login(base_url: str, path: str, username: str, password: str, client_ip: str) -> str:
    """Post the service's login form as a browser would; return the page or the redirect."""
    with httpx.Client(base_url=base_url, timeout=20, headers={"X-Forwarded-For": client_ip}) as c:
        c.get(path)
        token = next(value for name, value in c.cookies.items() if name.endswith("csrftoken"))
        response = c.post(
            path, data={"username": username, "password": password, "csrfmiddlewaretoken": token}
        )
    return f"redirect {response.headers['location']}" if response.is_redirect else response.text


def test_the_crm_login_throttle_is_shared_by_two_servers(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["TANDEM_TRUSTED_PROXIES"] = "127.0.0.1"
    tandem(env, "crm", "migrate", "-v", "0")
    tandem(env, "crm", "org", "create", "--name", "Acme", "--my-domain", "acme")
    tandem(
        env,
        "crm",
        "user",
        "create",
        "--org",
        "acme",
        "--username",
        "ann@acme.test",
        "--last-name",
        "Ann",
        "--password",
        PASSWORD,
    )
    client = f"203.0.113.{uuid.uuid4().int % 200 + 1}"
    with ExitStack() as stack:
        first, second = serve_twice(stack, env, "crm", tmp_path / "crm.log")
        # Failures with any usernames, split between the two servers: the third reaches the
        # limit (the CRM refuses the attempt that reaches it), though the first server saw two.
        for server, name in ((first, "x@acme.test"), (second, "y@acme.test")):
            assert "Please check your username and password" in form_login(
                server, "/login/", name, "wrong", client
            )
        third = form_login(first, "/login/", "z@acme.test", "wrong", client)
        assert "Too many failed logins from your address" in third
        refused = form_login(second, "/login/", "ann@acme.test", PASSWORD, client)
        elsewhere = form_login(second, "/login/", "ann@acme.test", PASSWORD, "198.51.100.77")

    assert "Too many failed logins from your address" in refused
    assert elsewhere.startswith("redirect ")


def test_the_engagement_login_throttle_is_shared_by_two_servers(
    env: dict[str, str], tmp_path: Path
) -> None:
    env["TANDEM_TRUSTED_PROXIES"] = "127.0.0.1"
    tandem(env, "engagement", "migrate", "-v", "0")
    tandem(
        env,
        "engagement",
        "account",
        "create",
        "--name",
        "Northwind",
        "--admin-username",
        "ada",
        "--admin-password",
        PASSWORD,
    )
    client = f"203.0.113.{uuid.uuid4().int % 200 + 1}"
    with ExitStack() as stack:
        first, second = serve_twice(stack, env, "engagement", tmp_path / "engagement.log")
        for server, name in ((first, "x"), (second, "y"), (first, "z")):
            assert "Please enter a correct username and password" in form_login(
                server, "/login/", name, "wrong", client
            )
        refused = form_login(second, "/login/", "ada", PASSWORD, client)
        elsewhere = form_login(second, "/login/", "ada", PASSWORD, "198.51.100.77")

    assert "Too many failed logins. Wait 15 minutes, then try again." in refused
    assert elsewhere == "redirect /email/"
