"""In a real browser: an admin blocks today in a profile's Login Hours; its user can't log in."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Page, expect

from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import WEEKDAYS, LoginHistory, ProfileName
from tests.crm.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()


def test_blocked_day_refuses_the_profiles_users(page: Page, live_server: object) -> None:
    base = live_server.url  # type: ignore[attr-defined]
    org = org_create(name="Acme")
    make_user(org, "admin@acme.test", ProfileName.SYSTEM_ADMINISTRATOR)
    make_user(org, "standard@acme.test")
    today = WEEKDAYS[datetime.now(UTC).weekday()]
    log_in(page, base, "admin@acme.test")

    page.get_by_role("link", name="Setup").click()
    page.get_by_label("Quick Find").press_sequentially("Profiles")
    page.get_by_role("link", name="Profiles").click()
    page.get_by_role("link", name="Standard User").click()
    page.get_by_label(f"{today} Start").select_option(label="09:00")
    page.get_by_label(f"{today} End").select_option(label="09:00")  # start = end blocks the day
    page.get_by_role("button", name="Save Login Hours").click()
    page.get_by_role("button", name="Log Out").click()
    log_in(page, base, "standard@acme.test")

    expect(page.get_by_role("alert")).to_have_text("IP restricted or invalid login hours")
    row = LoginHistory.objects.filter(username="standard@acme.test").get()
    assert row.status == "Failed: Login hours restricted"
