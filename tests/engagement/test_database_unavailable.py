"""An Engagement whose database cannot be reached answers a plain 503 page, not a 500."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

pytestmark = pytest.mark.django_db


class Full:
    """Django's connection when every slot is taken: opening one fails."""

    connection = None

    def ensure_connection(self) -> None:
        raise OperationalError("connection failed: FATAL:  sorry, too many clients already")


@pytest.mark.parametrize("path", ["/login/", "/email/admin/salesforce-integration/", "/t/o/1/x"])
def test_every_page_answers_503_with_a_plain_page(
    client: Client, monkeypatch: pytest.MonkeyPatch, path: str
) -> None:
    monkeypatch.setattr("tandem.core.unavailable.connection", Full())

    response = client.get(path)

    assert response.status_code == 503
    assert response["Retry-After"] == "10"
    assert "<h1>Service unavailable</h1>" in response.content.decode()


def test_the_page_is_served_normally_once_the_database_answers(client: Client) -> None:
    assert client.get("/login/").status_code == 200
