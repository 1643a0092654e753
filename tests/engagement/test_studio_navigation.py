"""Email Studio's top navigation."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def nav_links(html: str) -> list[tuple[str, str]]:
    nav = html.split('aria-label="Email Studio"', 1)[1].split("</nav>", 1)[0]
    return re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', nav)


def test_administrator_sees_every_section(admin_client: Client) -> None:
    response = admin_client.get("/email/")

    assert nav_links(response.content.decode()) == [
        ("/email/content/", "Content"),
        ("/email/subscribers/", "Subscribers"),
        ("/email/interactions/", "Interactions"),
        ("/email/tracking/", "Tracking"),
        ("/email/admin/", "Admin"),
    ]


def test_marketing_user_sees_their_salesforce_integration_instead_of_admin(
    marketer_client: Client,
) -> None:
    response = marketer_client.get("/email/")

    assert [label for _, label in nav_links(response.content.decode())] == [
        "Content",
        "Subscribers",
        "Interactions",
        "Tracking",
        "Salesforce Integration",
    ]


def test_current_section_is_marked(admin_client: Client) -> None:
    response = admin_client.get("/email/admin/")

    assert b'<a href="/email/admin/" aria-current="page"' in response.content
