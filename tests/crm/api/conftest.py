"""API fixtures: bearer tokens resolved by a stand-in lookup until the OAuth server binds DOT."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tandem.crm.api import auth
from tandem.crm.api.auth import ApiPrincipal

V = "/services/data/v59.0"


class Tokens:
    """Issue test tokens: token → principal."""

    def __init__(self) -> None:
        self.table: dict[str, ApiPrincipal] = {}

    def issue(self, user: Any, *, app: str | None = "Data Loader", scopes: str = "api") -> str:
        token = f"tok-{len(self.table)}"
        self.table[token] = ApiPrincipal(
            org=user.org, user=user, connected_app_id=app and f"app-{app}",
            connected_app_name=app, scopes=frozenset(scopes.split()),
            is_marketing_cloud=app == "Salesforce Marketing Cloud",
        )  # fmt: skip
        return token


@pytest.fixture
def tokens(monkeypatch: pytest.MonkeyPatch) -> Tokens:
    issued = Tokens()
    monkeypatch.setattr(auth, "TOKEN_LOOKUP", issued.table.get)
    return issued


class Api:
    """A Django test client speaking to /services/data with one bearer token."""

    def __init__(self, token: str) -> None:
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **headers: str) -> Any:
        return self.client.get(V + path, headers={**self.headers, **headers})

    def post(self, path: str, body: Any) -> Any:
        return self.client.post(
            V + path, body, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, body: Any) -> Any:
        return self.client.patch(
            V + path, body, content_type="application/json", headers=self.headers
        )

    def delete(self, path: str) -> Any:
        return self.client.delete(V + path, headers=self.headers)


@pytest.fixture
def api(tokens: Tokens, admin: Any) -> Api:
    return Api(tokens.issue(admin))
