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
