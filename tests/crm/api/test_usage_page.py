"""Setup → API Usage: admins only, their org's calls, charted per app and per user."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def _client(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_login(db: None) -> None:
    assert Client().get("/setup/api-usage/").status_code == 302


def test_standard_user_is_refused(standard_user: Any) -> None:
    assert _client(standard_user).get("/setup/api-usage/").status_code == 403


def test_admin_sees_calls_per_app_and_user(tokens: Any, admin: Any, marketer: Any) -> None:
    Api(tokens.issue(admin, app="Workbench")).get("/limits")
    Api(tokens.issue(marketer, app="Data Loader")).get("/limits")

    body = _client(admin).get("/setup/api-usage/").content.decode()

    assert "<svg" in body
    assert "Workbench: 1" in body
    assert "Data Loader: 1" in body
    assert "marketer@acme.test: 1" in body


def test_other_orgs_calls_are_not_shown(tokens: Any, admin: Any, outsider: Any) -> None:
    Api(tokens.issue(outsider, app="Globex Sync")).get("/limits")

    body = _client(admin).get("/setup/api-usage/").content.decode()

    assert "Globex Sync" not in body


def test_page_is_in_the_setup_menu(admin: Any) -> None:
    body = _client(admin).get("/setup/").content.decode()

    assert "API Usage" in body
