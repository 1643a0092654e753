"""The CRM admin's steps of the upgrade (docs/reference/setup.md, steps 1, 2, 5) in a browser:
Setup → Quick Find → Connected Apps → Salesforce Marketing Cloud → Edit → policies → Save →
Manage Permission Sets → select → Save."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tandem.crm.connectedapps.models import ConnectedAppAccess, ConnectedAppPolicy
from tandem.crm.connectedapps.services import (
    connected_app_consent_grant,
    connected_app_deployment_sync,
)
from tandem.crm.orgs.services import org_create
from tandem.crm.permissions.services import permission_set_create
from tandem.crm.users.models import ProfileName
from tests.crm.conftest import PASSWORD, make_user
from tests.crm.oauth.jwtkeys import key_pair

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_sets_the_marketing_cloud_policies_and_links_the_permission_set(
    page: Page, live_server: object, settings: object
) -> None:
    settings.MC_CONSUMER_KEY = "3MVG9MarketingCloud"  # type: ignore[attr-defined]
    settings.MC_CALLBACK_URL = "http://localhost:8002/connect/callback"  # type: ignore[attr-defined]
    settings.MC_CERTIFICATE = key_pair("engagement")[1]  # type: ignore[attr-defined]
    org = org_create(name="Acme", my_domain="acme")
    make_user(org, "admin@acme.test", ProfileName.SYSTEM_ADMINISTRATOR)
    system = make_user(org, "system@acme.test", ProfileName.SYSTEM_ADMINISTRATOR)
    app = connected_app_deployment_sync()
    assert app is not None
    connected_app_consent_grant(app=app, user=system, scopes=["api"])
    permission_set_create(
        org=org,
        actor=None,
        label="Marketing Cloud Connected App",
        api_name="Marketing_Cloud_Connected_App",
    )
    page.goto(live_server.url + "/login/")  # type: ignore[attr-defined]
    page.get_by_label("Username").fill("admin@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()

    page.get_by_role("link", name="Setup").click()
    expect(page.get_by_role("heading", name="Setup", exact=True)).to_be_visible(timeout=20_000)
    page.get_by_label("Quick Find").press_sequentially("Connected Apps")
    menu = page.get_by_role("navigation", name="Setup menu")
    expect(menu.get_by_role("link", name="Users", exact=True)).to_be_hidden()
    menu.get_by_role("link", name="Connected Apps", exact=True).click()
    expect(page.get_by_role("heading", name="Connected Apps")).to_be_visible(timeout=20_000)
    page.get_by_role("link", name="Salesforce Marketing Cloud").click()
    expect(page.get_by_role("heading", name="Salesforce Marketing Cloud")).to_be_visible(
        timeout=20_000
    )
    page.get_by_role("link", name="Edit", exact=True).click()
    page.get_by_label("Admin approved users are pre-authorized").check()
    page.get_by_label("Relax IP restrictions", exact=True).check()
    page.get_by_label("Immediately expire refresh token").check()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Admin approved users are pre-authorized")).to_be_visible()
    page.get_by_role("link", name="Manage Permission Sets").click()
    page.get_by_label("Marketing Cloud Connected App").check()
    page.get_by_role("button", name="Save").click()

    expect(
        page.get_by_role("listitem").filter(has_text="Marketing Cloud Connected App")
    ).to_be_visible()
    row = ConnectedAppPolicy.objects.get(app=app, org=org)
    assert (row.permitted_users, row.ip_relaxation, row.refresh_token_policy) == (
        "AdminApprovedPreAuthorized",
        "BYPASS",
        "zero",
    )
    assert ConnectedAppAccess.objects.filter(policy=row, permission_set__isnull=False).count() == 1
