"""Login, logout and sessions."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from tandem.engagement.accounts.models import User
from tests.engagement.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_with_the_right_password_opens_email_studio(admin: User) -> None:
    client = Client()

    response = client.post("/login/", {"username": "ada", "password": PASSWORD})

    assert response.status_code == 302
    assert response["Location"] == "/email/"
    assert client.get("/email/").status_code == 200


def test_login_with_a_wrong_password_shows_an_error_and_signs_nobody_in(admin: User) -> None:
    client = Client()

    response = client.post("/login/", {"username": "ada", "password": "nope"})

    assert response.status_code == 200
    assert b"Please enter a correct username and password" in response.content
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert client.get("/email/").status_code == 302


def test_login_of_a_deactivated_user_is_refused(admin: User) -> None:
    User.objects.filter(pk=admin.pk).update(is_active=False)
    client = Client()

    response = client.post("/login/", {"username": "ada", "password": PASSWORD})

    assert response.status_code == 200
    assert client.get("/email/").status_code == 302


def test_login_returns_to_the_page_asked_for(admin: User) -> None:
    client = Client()

    response = client.post(
        "/login/?next=/email/admin/",
        {"username": "ada", "password": PASSWORD, "next": "/email/admin/"},
    )

    assert response["Location"] == "/email/admin/"


def test_login_never_redirects_to_another_host(admin: User) -> None:
    client = Client()

    response = client.post(
        "/login/", {"username": "ada", "password": PASSWORD, "next": "https://evil.example/"}
    )

    assert response["Location"] == "/email/"


def test_logout_ends_the_session(admin_client: Client) -> None:
    response = admin_client.post("/logout/")

    assert response.status_code == 302
    assert admin_client.get("/email/").status_code == 302


def test_logout_by_get_is_refused(admin_client: Client) -> None:
    response = admin_client.get("/logout/")

    assert response.status_code == 405
    assert admin_client.get("/email/").status_code == 200


def test_anonymous_visitor_is_sent_to_login_with_next() -> None:
    response = Client().get("/email/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/email/"


def test_user_without_an_account_is_forbidden(db: None) -> None:
    loner = User.objects.create_user(username="loner", password=PASSWORD)
    client = Client()
    client.force_login(loner)

    assert client.get("/email/").status_code == 403
