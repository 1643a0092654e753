"""Email Studio in a real browser: log in, follow the navigation, change an Admin setting."""

from __future__ import annotations

import pytest

from tandem.engagement.accounts.models import Account, AuditEvent, User
from tests.engagement.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, live_server, username: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/email/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log In").click()
    page.wait_for_url("**/email/")


def test_admin_turns_off_my_documents_in_content(  # type: ignore[no-untyped-def]
    page, live_server, admin: User, account: Account
) -> None:
    log_in(page, live_server, "ada")

    page.get_by_role("navigation", name="Email Studio").get_by_role("link", name="Admin").click()
    page.get_by_label("My Documents in Content").uncheck()
    page.get_by_role("button", name="Save").click()

    assert page.get_by_text("Account settings saved.").is_visible()
    account.refresh_from_db()
    assert account.my_documents_in_content is False
    page.get_by_role("link", name="Audit Trail").click()
    assert page.get_by_role("cell", name="account.setting_changed").is_visible()
    assert AuditEvent.objects.get().actor == admin


def test_marketing_user_uploads_to_my_documents_and_previews_csv(  # type: ignore[no-untyped-def]
    page, live_server, marketer: User, tmp_path
) -> None:
    csv_file = tmp_path / "people.csv"
    csv_file.write_text("name,city\r\nZoë,Zürich\r\n", encoding="utf-8")
    log_in(page, live_server, "mia")

    navigation = page.get_by_role("navigation", name="Email Studio")
    assert navigation.get_by_role("link", name="Admin").count() == 0
    navigation.get_by_role("link", name="Content").click()
    page.get_by_role("link", name="My Documents").first.click()
    page.get_by_label("File").set_input_files(str(csv_file))
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("link", name="people.csv").click()

    assert page.get_by_role("cell", name="Zürich").is_visible()
