"""The demo over real HTTP: the CRM org's admin logs in on My Domain, the Engagement
account's Administrator logs in to Email Studio; seeding twice changes nothing."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from typing import Any

import httpx
import pytest
from rich.console import Console

from tandem.cli.demo_crm import write_demo_json
from tandem.cli.demo_engagement import prepare_engagement_demo
from tandem.cli.up import Stack
from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e


def seed(stack: RunningStack) -> dict[str, object]:
    argv = [sys.executable, "-m", "tandem", "crm", "crm_demo", "--json"]
    env = {**stack.env, "TANDEM_SERVICE": "crm", "TANDEM_CRM_URL": stack.crm_url}
    done = subprocess.run(
        argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, check=True
    )
    return json.loads(done.stdout)


def test_demo_admin_logs_in_on_the_my_domain_host(stack: RunningStack) -> None:
    demo = seed(stack)
    again = seed(stack)
    admin = next(u for u in demo["users"] if u["role"] == "admin")  # type: ignore[attr-defined]
    port = stack.crm_url.rsplit(":", 1)[1]
    host = f"acme.my.localhost:{port}"

    with httpx.Client(base_url=stack.crm_url, headers={"Host": host}) as client:
        form = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        response = client.post(
            "/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": admin["username"],
                "password": admin["password"],
            },
        )
        home = client.get("/")

    assert again["org"] == demo["org"]
    assert response.status_code == 302
    assert "<strong>admin@acme.demo</strong> in <strong>Acme</strong>" in home.text
    assert 'href="/setup/"' in home.text


def prepare_engagement(
    stack: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> tuple[str, dict[str, Any]]:
    """What `tandem demo` does after the CRM part, against the running stack's databases."""
    for name, value in stack.env.items():
        if name.startswith("TANDEM_"):
            monkeypatch.setenv(name, value)
    path = stack.var_dir / "demo.json"
    write_demo_json(path, seed(stack))
    out = io.StringIO()
    ports = Stack(
        crm_port=int(stack.crm_url.rsplit(":", 1)[1]),
        engagement_port=int(stack.engagement_url.rsplit(":", 1)[1]),
    )
    prepare_engagement_demo(ports, Console(file=out, width=200), path)
    return out.getvalue(), json.loads(path.read_text())


def test_demo_engagement_admin_logs_in_and_a_second_run_changes_nothing(
    stack: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed, saved = prepare_engagement(stack, monkeypatch)
    printed_again, saved_again = prepare_engagement(stack, monkeypatch)
    engagement = saved["engagement"]
    admin = engagement["users"][0]

    with httpx.Client(base_url=stack.engagement_url) as client:
        form = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text)
        assert token is not None
        response = client.post(
            "/login/",
            data={
                "csrfmiddlewaretoken": token.group(1),
                "username": admin["username"],
                "password": admin["password"],
            },
        )
        studio = client.get("/email/")

    assert saved["crm"]["org"]["name"] == "Acme"
    assert [u["username"] for u in engagement["users"]] == [
        "admin@mc.acme.demo",
        "maria@mc.acme.demo",
        "mark@mc.acme.demo",
        "mina@mc.acme.demo",
        "ivan@mc.acme.demo",
        "olga@mc.acme.demo",
    ]
    assert saved_again == saved
    assert printed_again == printed
    assert f"administrator   {admin['username']:<22} {admin['password']}" in printed
    assert "once the CRM answers, the demo connects it (legacy authentication" in printed
    assert engagement["connection"] is None
    assert response.status_code == 302
    assert response.headers["location"] == "/email/"
    assert studio.status_code == 200
