"""My Domain in a real browser: the org's own login host serves only that org's users."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tandem.crm.users.models import LoginHistory, User
from tests.crm.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def my_domain_url(live_server: object, slug: str) -> str:
    port = urlsplit(live_server.url).port  # type: ignore[attr-defined]
    return f"http://{slug}.my.localhost:{port}"


def log_in(page: Page, url: str, username: str) -> None:
    page.goto(url + "/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()


def test_org_user_logs_in_on_its_my_domain(page: Page, live_server: object, admin: User) -> None:
    base = my_domain_url(live_server, "acme")

    log_in(page, base, admin.username)

    expect(page.get_by_text("Logged in as admin@acme.test in Acme")).to_be_visible()
    assert page.url == base + "/"


def test_other_orgs_user_is_refused_on_this_my_domain(
    page: Page, live_server: object, org: object, outsider: User
) -> None:
    log_in(page, my_domain_url(live_server, "acme"), outsider.username)

    expect(page.get_by_role("alert")).to_contain_text("Please check your username and password.")
    assert not LoginHistory.objects.filter(user=outsider).exists()
