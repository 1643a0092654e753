"""Steps 1-11 in a real browser, by their labels (the CRM's side is a routed stand-in here;
tests/e2e/test_upgrade.py runs the real CRM)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tandem.engagement.connect.models import ConnectionState, CrmConnection
from tests.engagement.connect.conftest import NOT_ADMIN_APPROVED, FakeCrm
from tests.engagement.test_studio_browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _consumer_key(settings: object) -> None:
    settings.MC_CONSUMER_KEY = "3MVG9test"  # type: ignore[attr-defined]


def test_admin_upgrades_by_the_seed_click_path(  # type: ignore[no-untyped-def]
    page, live_server, legacy: CrmConnection, crm: FakeCrm
) -> None:
    crm.jwt_refusals["mark@acme.test"] = NOT_ADMIN_APPROVED
    crm.code_identity = "system@acme.test"
    page.route("https://acme.my.crm.test/**", lambda route: route.fulfill(body="CRM login"))
    log_in(page, live_server, "ada")

    page.get_by_role("navigation", name="Email Studio").get_by_role("link", name="Admin").click()
    page.get_by_role("link", name="Salesforce Integration").click()
    page.get_by_role("link", name="Upgrade to Connected App").click()
    page.get_by_role("link", name="Connect Account").click()
    page.get_by_label("I understand").check()
    page.get_by_role("button", name="Continue").click()
    page.wait_for_url("https://acme.my.crm.test/services/oauth2/authorize?**")
    state = parse_qs(urlsplit(page.url).query)["state"][0]
    page.goto(
        f"{live_server.url}/email/admin/salesforce-integration/callback/?code=c&state={state}"
    )
    page.get_by_label("Migrate Existing Users").check()
    page.get_by_role("button", name="Connect").click()

    page.wait_for_url("**/salesforce-integration/?run=*")
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("user is not admin approved to access this app")).to_be_visible()
    dialog.get_by_role("button", name="OK").click()
    page.wait_for_url("**/salesforce-integration/")
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(page.locator("#mode")).to_have_text("Connected App")
    assert CrmConnection.objects.get().state == ConnectionState.CONNECTED_APP
