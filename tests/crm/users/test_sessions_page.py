"""Setup → Users → a user's Sessions: listed, and ended by an administrator (audited)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import User, UserSession
from tests.crm.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def browser_login(user: User, agent: str) -> Client:
    client = Client(HTTP_USER_AGENT=agent)
    client.post("/login/", {"username": user.username, "password": PASSWORD})
    return client


def test_user_page_lists_each_open_session(admin: User, marketer: User) -> None:
    browser_login(marketer, "Firefox on the laptop")
    browser_login(marketer, "Chromium on the phone")
    admin_client = browser_login(admin, "admin")

    body = admin_client.get(reverse("crm_users:user_detail", args=[marketer.id])).content.decode()

    assert "Firefox on the laptop" in body
    assert "Chromium on the phone" in body
    assert body.count("End Session") == 2


def test_ending_a_session_logs_that_browser_out_only(admin: User, marketer: User) -> None:
    laptop = browser_login(marketer, "laptop")
    phone = browser_login(marketer, "phone")
    admin_client = browser_login(admin, "admin")
    laptop_session = UserSession.objects.get(user=marketer, user_agent="laptop")

    admin_client.post(reverse("crm_users:user_session_end", args=[laptop_session.id]))

    assert not laptop.get("/").context["user"].is_authenticated
    assert phone.get("/").context["user"] == marketer
    audit = SetupAuditTrail.objects.get(action="user.session_ended")
    assert audit.target == "marketer@acme.test"


def test_admin_unlocks_a_locked_out_user(admin: User, marketer: User, settings: object) -> None:
    settings.CRM_LOCKOUT_ATTEMPTS = 1  # type: ignore[attr-defined]
    Client().post("/login/", {"username": marketer.username, "password": "wrong"})
    marketer.refresh_from_db()
    assert marketer.locked_until is not None
    admin_client = browser_login(admin, "admin")

    admin_client.post(reverse("crm_users:user_unlock", args=[marketer.id]))

    assert browser_login(marketer, "again").get("/").context["user"] == marketer
    assert SetupAuditTrail.objects.filter(action="user.unlocked").exists()


def test_admin_resets_a_password_shown_once(admin: User, marketer: User) -> None:
    admin_client = browser_login(admin, "admin")

    response = admin_client.post(reverse("crm_users:user_password_reset", args=[marketer.id]))

    new_password = response.context["password"]
    marketer.refresh_from_db()
    assert marketer.check_password(new_password)
    assert not marketer.check_password(PASSWORD)
    audit = SetupAuditTrail.objects.get(action="user.password_reset")
    assert new_password not in str(audit.old_value) + str(audit.new_value)


def test_session_management_lists_the_orgs_sessions_only(
    admin: User, marketer: User, outsider: User
) -> None:
    browser_login(marketer, "marketer browser")
    browser_login(outsider, "outsider browser")
    admin_client = browser_login(admin, "admin browser")

    body = admin_client.get(reverse("crm_users:session_management")).content.decode()

    assert "marketer browser" in body
    assert "outsider browser" not in body
    assert "This session" in body


def test_my_sessions_ends_another_of_my_own_sessions(marketer: User, admin: User) -> None:
    laptop = browser_login(marketer, "laptop")
    phone = browser_login(marketer, "phone")
    admin_session = browser_login(admin, "admin")
    laptop_session = UserSession.objects.get(user=marketer, user_agent="laptop")
    admin_row = UserSession.objects.get(user=admin)

    phone.post(reverse("crm_users:my_sessions"), {"session": laptop_session.id})
    phone.post(reverse("crm_users:my_sessions"), {"session": admin_row.id})

    assert not laptop.get("/").context["user"].is_authenticated
    assert phone.get("/").context["user"] == marketer
    assert admin_session.get("/").context["user"] == admin


def test_my_sessions_needs_a_login(db: None) -> None:
    response = Client().get(reverse("crm_users:my_sessions"))

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
