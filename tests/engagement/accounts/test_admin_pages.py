"""Admin pages: only Administrators of the account reach them; every change is audited."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.engagement.accounts.models import Account, AuditEvent, Role, User

pytestmark = pytest.mark.django_db

ADMIN_PAGES = ["/email/admin/", "/email/admin/users/", "/email/admin/audit/"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_anonymous_is_sent_to_login(path: str) -> None:
    response = Client().get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_marketing_user_is_forbidden(path: str, marketer_client: Client) -> None:
    assert marketer_client.get(path).status_code == 403


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_administrator_reaches_it(path: str, admin_client: Client) -> None:
    assert admin_client.get(path).status_code == 200


def test_admin_entry_is_hidden_from_marketing_users(marketer_client: Client) -> None:
    response = marketer_client.get("/email/")

    assert b'href="/email/admin/"' not in response.content


def test_settings_page_shows_my_documents_in_content(admin_client: Client) -> None:
    response = admin_client.get("/email/admin/")

    assert b"My Documents in Content" in response.content


def test_turning_my_documents_off_is_saved_and_audited(
    admin_client: Client, account: Account, admin: User
) -> None:
    response = admin_client.post("/email/admin/", {})

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.my_documents_in_content is False
    event = AuditEvent.objects.get(account=account)
    assert (event.actor, event.action, event.target) == (
        admin,
        "account.setting_changed",
        "My Documents in Content",
    )
    assert (event.old_value, event.new_value) == (True, False)


def test_saving_unchanged_settings_writes_no_audit_row(
    admin_client: Client, account: Account
) -> None:
    admin_client.post("/email/admin/", {"my_documents_in_content": "on"})

    account.refresh_from_db()
    assert account.my_documents_in_content is True
    assert not AuditEvent.objects.exists()


def test_marketing_user_cannot_change_settings(marketer_client: Client, account: Account) -> None:
    response = marketer_client.post("/email/admin/", {})

    assert response.status_code == 403
    account.refresh_from_db()
    assert account.my_documents_in_content is True
    assert not AuditEvent.objects.exists()


def test_admin_of_another_account_changes_only_their_own(
    outsider_client: Client, account: Account, other_account: Account
) -> None:
    outsider_client.post("/email/admin/", {})

    account.refresh_from_db()
    other_account.refresh_from_db()
    assert account.my_documents_in_content is True
    assert other_account.my_documents_in_content is False


def test_audit_trail_lists_only_own_account(admin_client: Client, outsider_client: Client) -> None:
    outsider_client.post("/email/admin/", {})

    response = admin_client.get("/email/admin/audit/")

    assert b"account.setting_changed" not in response.content


def test_adding_a_user_is_audited(admin_client: Client, account: Account) -> None:
    response = admin_client.post(
        "/email/admin/users/",
        {"username": "neo", "password": "a long enough password 1", "role": Role.MARKETING_USER},
    )

    assert response.status_code == 302
    assert User.objects.get(username="neo").account == account
    assert AuditEvent.objects.get().action == "user.created"


def test_adding_a_user_with_a_taken_name_shows_an_error(
    admin_client: Client, marketer: User
) -> None:
    before = User.objects.count()

    response = admin_client.post(
        "/email/admin/users/",
        {"username": "mia", "password": "a long enough password 1", "role": Role.MARKETING_USER},
    )

    assert response.status_code == 200
    assert b"is taken" in response.content
    assert User.objects.count() == before
    assert not AuditEvent.objects.exists()


def test_changing_a_role_is_audited(admin_client: Client, marketer: User) -> None:
    admin_client.post(
        f"/email/admin/users/{marketer.pk}/role/", {f"{marketer.pk}-role": Role.ADMINISTRATOR}
    )

    marketer.refresh_from_db()
    assert marketer.role == Role.ADMINISTRATOR
    event = AuditEvent.objects.get()
    assert (event.old_value, event.new_value) == (Role.MARKETING_USER, Role.ADMINISTRATOR)


def test_last_administrator_cannot_step_down(admin_client: Client, admin: User) -> None:
    admin_client.post(
        f"/email/admin/users/{admin.pk}/role/", {f"{admin.pk}-role": Role.MARKETING_USER}
    )

    admin.refresh_from_db()
    assert admin.role == Role.ADMINISTRATOR
    assert not AuditEvent.objects.exists()


def test_role_of_another_accounts_user_is_not_found(admin_client: Client, outsider: User) -> None:
    response = admin_client.post(
        f"/email/admin/users/{outsider.pk}/role/", {f"{outsider.pk}-role": Role.MARKETING_USER}
    )

    assert response.status_code == 404
    outsider.refresh_from_db()
    assert outsider.role == Role.ADMINISTRATOR
