"""API fixtures: real access tokens (as the OAuth server stores them) for test users and apps."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import MARKETING_CLOUD_KEY
from tandem.crm.oauth.models import AccessToken

V = "/services/data/v59.0"


class Tokens:
    """Issue access tokens for test users: each is an AccessToken row of the named app (an app
    of the user's org, or the deployment's Marketing Cloud app), as the token endpoint makes."""

    def issue(self, user: Any, *, app: str | None = "Data Loader", scopes: str = "api") -> str:
        raw = secrets.token_urlsafe(32)
        AccessToken.objects.create(
            user=user,
            application=_app(user.org, app) if app else None,
            token="",
            token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
            expires=timezone.now() + dt.timedelta(hours=2),
            scope=scopes,
        )
        return raw


def _app(org: Any, name: str) -> ConnectedApp:
    marketing_cloud = name == "Salesforce Marketing Cloud"
    app, _ = ConnectedApp.objects.get_or_create(
        name=name,
        org=None if marketing_cloud else org,
        deployment_key=MARKETING_CLOUD_KEY if marketing_cloud else None,
        defaults={
            "client_type": ConnectedApp.CLIENT_CONFIDENTIAL,
            "authorization_grant_type": ConnectedApp.GRANT_AUTHORIZATION_CODE,
            "redirect_uris": "https://app.test/callback",
        },
    )
    return app


@pytest.fixture
def tokens(db: None) -> Tokens:
    return Tokens()


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
