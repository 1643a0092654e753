"""The CRM demo org over real HTTP: seeded into a running stack, its admin logs in on My Domain."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import pytest

from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e


def seed(stack: RunningStack) -> dict[str, object]:
    argv = [sys.executable, "-m", "tandem", "crm", "crm_demo", "--json"]
    env = {**stack.env, "TANDEM_SERVICE": "crm", "TANDEM_CRM_URL": stack.crm_url}
    done = subprocess.run(argv, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=120, check=True)  # fmt: skip
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
        response = client.post("/login/", data={
            "csrfmiddlewaretoken": token.group(1), "username": admin["username"],
            "password": admin["password"],
        })  # fmt: skip
        home = client.get("/")

    assert again["org"] == demo["org"]
    assert response.status_code == 302
    assert "<strong>admin@acme.demo</strong> in <strong>Acme</strong>" in home.text
    assert 'href="/setup/"' in home.text
