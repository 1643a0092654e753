"""In a real browser: home → Reports → Run Report shows the rows; Setup → API Usage charts."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tandem.crm.records.seed import records_seed
from tandem.crm.users.models import User
from tests.crm.permissions.test_permission_set_browser import log_in_as_admin

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_runs_a_seeded_report(page: Page, live_server: object) -> None:
    log_in_as_admin(page, live_server.url)  # type: ignore[attr-defined]
    admin = User.objects.get(username="admin@acme.test")
    records_seed(org=admin.org, owner=admin, contacts=40, leads=10, campaigns=1, seed=3)

    page.goto(live_server.url + "/")  # type: ignore[attr-defined]
    page.get_by_role("link", name="Reports").click()
    page.get_by_role("row", name="Contacts with email").get_by_role(
        "link", name="Run Report"
    ).click()

    expect(page.get_by_role("heading", name="Contacts with email")).to_be_visible()
    expect(page.get_by_text("Total Records:")).to_be_visible()
    assert page.get_by_role("row").count() > 1


def test_admin_opens_api_usage_by_quick_find(page: Page, live_server: object) -> None:
    log_in_as_admin(page, live_server.url)  # type: ignore[attr-defined]

    page.get_by_role("link", name="Setup").click()
    page.get_by_label("Quick Find").press_sequentially("API Usage")
    page.get_by_role("navigation", name="Setup menu").get_by_role("link", name="API Usage").click()

    expect(page.get_by_role("heading", name="API Usage", exact=True)).to_be_visible()
    expect(page.get_by_role("img", name="API calls per day by connected app")).to_be_visible()
