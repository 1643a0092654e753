"""GET /healthz on the Engagement service."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthy_engagement_answers_200_with_its_name(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["service"] == "engagement"


def test_engagement_has_its_own_cookie_names() -> None:
    assert settings.SESSION_COOKIE_NAME == "tandem_engagement_session"
    assert settings.CSRF_COOKIE_NAME == "tandem_engagement_csrftoken"
