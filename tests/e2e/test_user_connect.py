"""A user connects their own CRM user by hand, end to end (docs/upgrade.md §4,
docs/reference/connect.md).

The account is upgraded to Connected App authentication first (the shared upgrade steps). Then,
in a real browser that already holds another CRM session, a marketing user who was never
connected presses Connect, logs in to the CRM as themself (the CRM asks: `prompt=login`) and
comes back connected; Connect then calls the CRM as them (JWT bearer), which the CRM's Login
History shows. A user whose CRM user is not pre-authorized on the app is refused with the CRM's
reason and stays not connected.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.e2e.stack import RunningStack, running_stack
from tests.e2e.upgrade_flow import crm_cli, tool, upgraded_account

pytestmark = pytest.mark.e2e

APP = "Salesforce Marketing Cloud"
NOT_APPROVED = "user is not admin approved to access this app"


@pytest.fixture(scope="module")
def upgraded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningStack, Any]]:
    """A stack whose account uses the Connected App; `emina` (mina@acme.demo) is new."""
    with running_stack(tmp_path_factory.mktemp("user-connect")) as stack:
        crm, eng = upgraded_account(stack)
        tool(stack, "engagement", "eng-user", "emina")
        # The CRM admin pre-authorizes Mina through the app's permission set
        # (docs/reference/setup.md).
        permset = "Marketing_Cloud_Connected_App"
        crm_cli(
            stack,
            "permset",
            "assign",
            "--org",
            "acme",
            "--permset",
            permset,
            "--user",
            "mina@acme.demo",
        )
        yield stack, {"crm": crm, "eng": eng}


def engagement_login(page: Any, stack: RunningStack, username: str, password: str) -> None:
    """Sign in to Email Studio on the host the CRM's callback names."""
    port = urlsplit(stack.engagement_url).port
    page.goto(f"http://localhost:{port}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()
    page.wait_for_url(re.compile(r"^(?!.*/login/)"))


def crm_session_as(page: Any, stack: RunningStack, username: str, password: str) -> None:
    """The browser holds a CRM session of somebody else, on the org's My Domain."""
    port = urlsplit(stack.crm_url).port
    page.goto(f"http://acme.my.localhost:{port}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()
    page.wait_for_url(re.compile(r"^(?!.*/login/)"))


def open_integration(page: Any) -> None:
    page.get_by_role("link", name="Salesforce Integration").first.click()
    page.wait_for_selector("#my-connection")


def connect_by_hand(page: Any, crm_username: str, password: str) -> None:
    """Connect, the CRM's login page (asked for, whatever session is open), Allow if asked."""
    page.get_by_role("button", name="Connect", exact=True).click()
    page.get_by_label("Username").fill(crm_username)
    assert urlsplit(page.url).hostname == "acme.my.localhost", page.url  # the org's My Domain
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log In").click()
    page.wait_for_load_state()
    allow = page.get_by_role("button", name="Allow")
    if allow.count():
        allow.click()
    page.wait_for_load_state()


def test_a_user_connects_their_own_crm_user_by_hand(
    upgraded: tuple[RunningStack, Any], page: Any
) -> None:
    stack, seeds = upgraded
    password = seeds["crm"]["users"][1]["password"]
    crm_session_as(page, stack, "maria@acme.demo", password)
    engagement_login(page, stack, "emina", seeds["eng"]["password"])
    open_integration(page)
    assert page.locator("#my-state").inner_text() == "Not connected", page.content()[:3000]

    connect_by_hand(page, "mina@acme.demo", password)

    page.wait_for_selector("#my-connection")
    assert "You are connected to the CRM as mina@acme.demo" in page.content()
    assert page.locator("#my-state").inner_text().startswith("Connected")
    assert page.locator("#my-crm-username").inner_text() == "mina@acme.demo"
    assert page.get_by_role("button", name="Connect", exact=True).count() == 0
    state = tool(stack, "engagement", "eng-state")
    assert state["users"]["mina@acme.demo"]["state"] == "connected"

    # The connection is used: Connect calls the CRM as Mina (JWT bearer for her username).
    before = tool(stack, "crm", "crm-logins", "mina@acme.demo")["logins"]
    called = tool(stack, "engagement", "eng-call-as", "mina@acme.demo")["identity"]
    after = tool(stack, "crm", "crm-logins", "mina@acme.demo")["logins"]

    assert called["username"] == "mina@acme.demo"
    new = after[len(before) :]
    assert [(row["application"], row["status"]) for row in new] == [(APP, "Success")], after


def test_a_user_not_pre_authorized_is_refused_and_stays_not_connected(
    upgraded: tuple[RunningStack, Any], page: Any
) -> None:
    stack, seeds = upgraded
    password = seeds["crm"]["users"][1]["password"]
    engagement_login(page, stack, "emark", seeds["eng"]["password"])
    open_integration(page)
    assert page.locator("#my-state").inner_text() != "Connected"

    connect_by_hand(page, "mark@acme.demo", password)

    assert NOT_APPROVED in page.content(), page.content()[:4000]
    page.goto(
        f"http://localhost:{urlsplit(stack.engagement_url).port}"
        "/email/admin/salesforce-integration/"
    )
    assert page.locator("#my-state").inner_text() != "Connected"
    assert page.get_by_role("button", name="Connect", exact=True).count() == 1
    state = tool(stack, "engagement", "eng-state")
    assert state["users"]["mark@acme.demo"]["state"] != "connected"
