"""Issue 3's click path in a real browser: Setup → Quick Find → Permission Sets → New → assign."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tandem.crm.orgs.services import org_create
from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import ProfileName
from tests.crm.conftest import PASSWORD, make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in_as_admin(page: Page, base_url: str) -> None:
    org = org_create(name="Acme", my_domain="acme")
    make_user(org, "admin@acme.test", ProfileName.SYSTEM_ADMINISTRATOR)
    make_user(org, "system@acme.test", ProfileName.SYSTEM_ADMINISTRATOR, is_marketing_user=True)
    make_user(org, "marketer@acme.test", ProfileName.MARKETING_USER, is_marketing_user=True)
    page.goto(base_url + "/login/")
    page.get_by_label("Username").fill("admin@acme.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()


def open_permission_sets_by_quick_find(page: Page) -> None:
    page.get_by_role("link", name="Setup").click()
    page.get_by_label("Quick Find").press_sequentially("Permission Sets")
    menu = page.get_by_role("navigation", name="Setup menu")
    expect(menu.get_by_role("link", name="Users", exact=True)).to_be_hidden()
    menu.get_by_role("link", name="Permission Sets").click()
    expect(page.get_by_role("heading", name="Permission Sets")).to_be_visible()


def test_admin_creates_and_assigns_a_permission_set(page: Page, live_server: object) -> None:
    log_in_as_admin(page, live_server.url)  # type: ignore[attr-defined]
    open_permission_sets_by_quick_find(page)

    page.get_by_role("link", name="New").click()
    page.get_by_label("Label").press_sequentially("Marketing Cloud Connected App")
    expect(page.get_by_label("API Name")).to_have_value("Marketing_Cloud_Connected_App")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Marketing Cloud Connected App")).to_be_visible()

    page.get_by_role("link", name="Manage Assignments").click()
    page.get_by_role("link", name="Add Assignments").click()
    page.get_by_label("Select system").check()
    page.get_by_label("Select marketer").check()
    page.get_by_role("button", name="Assign").click()
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_role("heading", name="Current Assignments")).to_be_visible()
    expect(page.get_by_role("cell", name="system@acme.test")).to_be_visible()
    expect(page.get_by_role("cell", name="marketer@acme.test")).to_be_visible()

    page.get_by_label("Quick Find").press_sequentially("Audit")
    page.get_by_role("link", name="Setup Audit Trail").click()
    first_row = page.get_by_role("row").nth(1)
    expect(first_row).to_contain_text("permission_set.assigned")
    expect(first_row).to_contain_text("Marketing Cloud Connected App")
    expect(first_row).to_contain_text("admin@acme.test")

    permission_set = PermissionSet.objects.get()
    assert permission_set.api_name == "Marketing_Cloud_Connected_App"
    assert PermissionSetAssignment.objects.filter(permission_set=permission_set).count() == 2


def test_bad_api_name_is_refused_with_both_violations(page: Page, live_server: object) -> None:
    log_in_as_admin(page, live_server.url)  # type: ignore[attr-defined]
    open_permission_sets_by_quick_find(page)
    audit_before = SetupAuditTrail.objects.count()

    page.get_by_role("link", name="New").click()
    page.get_by_label("Label").fill("Bad Name")
    page.get_by_label("API Name").fill("Bad__Name_")
    page.get_by_role("button", name="Save").click()

    errors = page.locator("#id_api_name_errors")
    expect(errors).to_contain_text("The API name can't end with an underscore.")
    expect(errors).to_contain_text("The API name can't contain two consecutive underscores.")
    expect(page.get_by_label("API Name")).to_have_value("Bad__Name_")
    assert not PermissionSet.objects.exists()
    assert SetupAuditTrail.objects.count() == audit_before
