"""GET /healthz on the CRM."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


def test_healthy_crm_answers_200_with_its_name(client: Client) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok", "service": "crm", "database": "ok"}


def test_unreachable_database_answers_503(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_cursor() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr("tandem.core.health.connection.cursor", broken_cursor)

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["database"] == "unreachable"


def test_pages_refuse_framing(client: Client) -> None:
    response = client.get("/")

    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
