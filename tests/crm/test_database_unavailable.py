"""A CRM whose database cannot be reached answers 503 in each surface's words, not a 500.

The end-to-end proof, with PostgreSQL's connection slots really taken, is
tests/e2e/test_faults.py; here the connection is replaced by one that cannot open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from django.db import IntegrityError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from tandem.crm.unavailable import CrmDatabaseUnavailableMiddleware, guarded

pytestmark = pytest.mark.django_db

FULL = 'connection failed: FATAL:  too many connections for role "tandem"'
MESSAGE = "The service cannot reach its database right now. Try again in a moment."


@dataclass
class Raw:
    """A driver connection: `broken` once the server ended it."""

    broken: bool = False
    closed: bool = False


@dataclass
class Connection:
    """Django's connection as the middleware sees it."""

    connection: Raw | None = None

    def ensure_connection(self) -> None:
        if self.connection is None:
            raise OperationalError(FULL)


@pytest.fixture
def full(monkeypatch: pytest.MonkeyPatch) -> Connection:
    """Every connection slot taken: opening one fails."""
    fake = Connection()
    monkeypatch.setattr("tandem.core.unavailable.connection", fake)
    return fake


def test_the_rest_api_answers_salesforce_s_error_list(client: Client, full: Connection) -> None:
    response = client.get("/services/data/v62.0/sobjects/", HTTP_AUTHORIZATION="Bearer x")

    assert response.status_code == 503
    assert response.json() == [{"message": MESSAGE, "errorCode": "SERVER_UNAVAILABLE"}]
    assert response["Retry-After"] == "10"


def test_the_token_endpoint_answers_an_oauth_error_pair(client: Client, full: Connection) -> None:
    response = client.post("/services/oauth2/token", {"grant_type": "password"})

    assert response.status_code == 503
    assert response.json() == {"error": "temporarily_unavailable", "error_description": MESSAGE}
    assert response["Cache-Control"] == "no-store"


def test_the_soap_api_answers_a_fault(client: Client, full: Connection) -> None:
    response = client.post("/services/Soap/u/62.0", b"<x/>", content_type="text/xml")

    assert response.status_code == 503
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content.decode()
    assert "<faultcode>sf:SERVER_UNAVAILABLE</faultcode>" in body
    assert f"<sf:exceptionMessage>{MESSAGE}</sf:exceptionMessage>" in body


@pytest.mark.parametrize("path", ["/login/", "/services/oauth2/authorize?response_type=code"])
def test_pages_answer_a_plain_page(client: Client, full: Connection, path: str) -> None:
    response = client.get(path)

    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert "<h1>Service unavailable</h1>" in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_healthz_keeps_its_own_answer(client: Client, full: Connection) -> None:
    assert client.get("/healthz").json()["service"] == "crm"  # it checks the database itself


def test_a_connection_the_server_ended_during_a_view_answers_503() -> None:
    request = RequestFactory().get("/services/data/v62.0/query/")
    middleware = CrmDatabaseUnavailableMiddleware(lambda r: HttpResponse())
    ended = OperationalError("terminating connection due to administrator command")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tandem.core.unavailable.connection", Connection(Raw(broken=True)))
        response = middleware.process_exception(request, ended)

    assert response is not None
    assert response.status_code == 503
    assert b"SERVER_UNAVAILABLE" in response.content


@pytest.mark.parametrize("error", [IntegrityError("duplicate key"), OperationalError("deadlock")])
def test_other_database_errors_on_a_live_connection_are_left_alone(error: Exception) -> None:
    request = RequestFactory().get("/services/data/v62.0/query/")
    middleware = CrmDatabaseUnavailableMiddleware(lambda r: HttpResponse())

    def view(request: HttpRequest) -> HttpResponse:
        raise error

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tandem.core.unavailable.connection", Connection(Raw()))
        assert middleware.process_exception(request, error) is None
        with pytest.raises(type(error)):
            guarded(view)(request)


def test_the_token_endpoint_s_short_chain_answers_503_when_its_connection_broke() -> None:
    request = RequestFactory().post("/services/oauth2/token")

    def view(request: HttpRequest) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tandem.core.unavailable.connection", Connection(Raw(closed=True)))
        response = guarded(view)(request)

    assert response.status_code == 503
    assert b'"temporarily_unavailable"' in response.content


@pytest.mark.parametrize(("raw", "status"), [(Raw(broken=True), 503), (Raw(), 500)])
def test_a_500_from_a_middleware_is_a_503_only_when_the_connection_was_lost(
    raw: Raw, status: int
) -> None:
    """A persistent connection the server ended is met in a middleware (the org by host, the
    session): Django has made that a 500 before any view runs."""
    request = RequestFactory().get("/services/data/v62.0/query/")
    middleware = CrmDatabaseUnavailableMiddleware(lambda r: HttpResponse(status=500))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("tandem.core.unavailable.connection", Connection(raw))
        response = middleware(request)

    assert response.status_code == status
