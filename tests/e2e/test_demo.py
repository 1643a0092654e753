"""`make demo` ready for the upgrade's procedure, end to end on real processes (`tandem demo`):

the account connected under legacy authentication with no manual step, five previously connected
users (one inactive in the CRM, one the CRM admin leaves out), `tandem connect …` working from a
plain shell, a second run changing nothing, `tandem demo --script` performing the whole procedure
and `tandem demo --reset` bringing the demo back to legacy for another rehearsal.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from rich.console import Console

from tandem.cli.demo_connect import demo_legacy_connect
from tandem.cli.demo_crm import run_service, write_demo_json
from tandem.cli.demo_engagement import prepare_engagement_demo
from tandem.cli.up import Stack, stack_env
from tandem.inbox.maildir import list_messages
from tests.e2e.demo_tools import demo_json, ports, running_demo, tandem
from tests.e2e.stack import RunningStack
from tests.e2e.upgrade_flow import tool

pytestmark = pytest.mark.e2e

ADMIN = "admin@mc.acme.demo"
USERS = ["ivan@acme.demo", "maria@acme.demo", "mark@acme.demo", "mina@acme.demo", "olga@acme.demo"]
DEFAULT_POLICY = ["AllSelfAuthorized", "ENFORCE", "infinite"]
STEP = re.compile(r"^\s*(\d+)\s+(.+?): (ok|FAILED)\b", re.MULTILINE)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_demo(tmp_path_factory.mktemp("demo")) as stack:
        yield stack


def eng_state(stack: RunningStack) -> dict[str, Any]:
    return tool(stack, "engagement", "eng-state", ADMIN)  # type: ignore[no-any-return]


def test_the_demo_is_connected_under_legacy_with_five_users(demo: RunningStack) -> None:
    state = eng_state(demo)
    crm = tool(demo, "crm", "crm-app-state")
    saved = demo_json(demo)

    assert state["state"] == "legacy"
    assert state["legacy_secret_held"]
    assert sorted(state["users"]) == USERS
    assert {user["state"] for user in state["users"].values()} == {"legacy"}
    assert crm["active"]["ivan@acme.demo"] is False  # left the company after being connected
    assert crm["policy"] == DEFAULT_POLICY  # listed since Connect's first login, as it comes
    assert crm["linked"] == []
    assert crm["consents"] == []
    assert saved["engagement"]["connection"]["state"] == "legacy"
    assert saved["engagement"]["email"]["name"] == "Spring Newsletter"
    assert saved["engagement"]["data_extension"]["rows"] == 3
    assert saved["crm"]["records"]["campaign"]["members"] > 0
    assert saved["crm"]["records"]["report"]["name"] == "Contacts with email"


def test_tandem_connect_works_from_a_plain_shell(demo: RunningStack) -> None:
    status = tandem(demo, "connect", "status", "--account", "Acme Marketing", "--json")
    preflight = tandem(demo, "connect", "preflight", "--account", "Acme Marketing", "--json")

    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["state"] == "legacy"
    # The CRM judged each user (the consumer key and the signing key were found): none is
    # ready before the CRM admin's steps, each for the CRM's own reason.
    assert preflight.returncode == 1, preflight.stderr
    rows = {row["crm_username"]: row for row in json.loads(preflight.stdout)}
    assert rows["ivan@acme.demo"]["error_code"] == "inactive_user"
    assert rows["maria@acme.demo"]["error_message"] == "user hasn't approved this consumer"
    assert "invalid_client" not in preflight.stdout + preflight.stderr


def test_running_the_demo_again_changes_nothing(
    demo: RunningStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = (
        demo_json(demo),
        tool(demo, "crm", "crm-app-state"),
        tool(demo, "engagement", "eng-audit"),
        eng_state(demo),
    )
    for name, value in demo.env.items():
        if name.startswith("TANDEM_"):
            monkeypatch.setenv(name, value)
    stack = Stack(crm_port=int(ports(demo)[1]), engagement_port=int(ports(demo)[3]))
    path = demo.var_dir / "demo.json"
    console = Console(file=io.StringIO(), width=200)

    # What `tandem demo` runs: the CRM seed, the Engagement seed, the legacy connection.
    write_demo_json(path, json.loads(run_service("crm", stack_env(stack), "crm_demo", "--json")))
    prepare_engagement_demo(stack, console, path)
    demo_legacy_connect(stack, path, console)

    after = (
        demo_json(demo),
        tool(demo, "crm", "crm-app-state"),
        tool(demo, "engagement", "eng-audit"),
        eng_state(demo),
    )
    assert after == before


def script_steps(output: str) -> list[tuple[str, str]]:
    return [(number, outcome) for number, _label, outcome in STEP.findall(output)]


def test_the_script_performs_the_procedure_then_reset_allows_another_rehearsal(
    demo: RunningStack,
) -> None:
    done = tandem(demo, "demo", "--script", *ports(demo))

    assert done.returncode == 0, done.stdout + done.stderr
    assert script_steps(done.stdout) == [(str(n), "ok") for n in range(26)], done.stdout
    assert "Every step held." in done.stdout
    assert "0 users reconnected, 5 failed." in done.stdout
    state, crm = eng_state(demo), tool(demo, "crm", "crm-app-state")
    assert state["state"] == "connected_app"
    assert {name: user["state"] for name, user in state["users"].items()} == {
        "ivan@acme.demo": "pending",
        "maria@acme.demo": "connected",
        "mark@acme.demo": "connected",
        "mina@acme.demo": "connected",
        "olga@acme.demo": "pending",
    }
    assert state["users"]["olga@acme.demo"]["code"] == "invalid_app_access"
    assert state["users"]["ivan@acme.demo"]["code"] == "inactive_user"
    assert crm["policy"] == ["AdminApprovedPreAuthorized", "BYPASS", "zero"]
    assert crm["linked"] == ["Marketing_Cloud_Connected_App"]
    assert [
        m for m in list_messages(demo.var_dir / "mail") if "mc-system@acme.demo" in m.recipients
    ]
    assert [row["email"] for row in tool(demo, "crm", "crm-ier")["results"]] == [
        "mc-system@acme.demo"
    ]

    # Once upgraded, the script stops at once and says how to rehearse again; nothing changes.
    before = (eng_state(demo), tool(demo, "engagement", "eng-audit"))
    refused = tandem(demo, "demo", "--script", *ports(demo))

    assert refused.returncode == 1
    assert script_steps(refused.stdout) == [("0", "FAILED")], refused.stdout
    assert "`tandem demo --reset` returns the demo to legacy" in refused.stdout
    assert (eng_state(demo), tool(demo, "engagement", "eng-audit")) == before

    reset = tandem(demo, "demo", "--reset")  # no ports: those of demo.json, the running demo's

    assert reset.returncode == 0, reset.stdout + reset.stderr
    state, crm = eng_state(demo), tool(demo, "crm", "crm-app-state")
    assert state["state"] == "legacy"
    assert {user["state"] for user in state["users"].values()} == {"legacy"}
    assert sorted(state["users"]) == USERS
    assert crm["policy"] == DEFAULT_POLICY
    assert crm["linked"] == []
    assert crm["consents"] == []
    assert "Marketing_Cloud_Connected_App" not in crm["permission_sets"]
    assert crm["active"]["ivan@acme.demo"] is False

    again = tandem(demo, "demo", "--script", *ports(demo))

    assert again.returncode == 0, again.stdout + again.stderr
    assert script_steps(again.stdout) == [(str(n), "ok") for n in range(26)], again.stdout


def test_the_script_and_reset_refuse_clearly_when_the_demo_is_not_running(
    tmp_path: Any,
) -> None:
    env = {"TANDEM_VAR_DIR": str(tmp_path), "PATH": ""}
    stopped = RunningStack(
        "http://127.0.0.1:9", "http://127.0.0.1:9", 9, tmp_path, env, tmp_path / "log"
    )
    args = ["--crm-port", "9", "--engagement-port", "9", "--inbox-port", "9"]
    for option in ("--script", "--reset"):
        done = tandem(stopped, "demo", option, *args)

        assert done.returncode == 2
        assert "start the demo first (make demo)" in done.stderr
        assert not (tmp_path / "demo.json").exists()
