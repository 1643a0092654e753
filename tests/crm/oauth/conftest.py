"""Connected apps, assertions and token requests for the OAuth server tests."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppPolicy
from tandem.crm.connectedapps.services import (
    connected_app_consent_grant,
    connected_app_create,
    connected_app_permission_sets_set,
    connected_app_policy_set,
)
from tandem.crm.orgs.models import Org
from tandem.crm.permissions.services import permission_set_assign, permission_set_create
from tandem.crm.users.models import User
from tests.crm.oauth.jwtkeys import assertion, key_pair

CALLBACK = "https://client.example/callback"
LOGIN_URL = "http://localhost:8001"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@dataclass
class App:
    app: ConnectedApp
    secret: str
    policy: ConnectedAppPolicy

    @property
    def key(self) -> str:
        return self.app.client_id


def make_app(org: Org, *, rotation: bool = False, **policy: Any) -> App:
    created = connected_app_create(
        org=org,
        actor=None,
        name="Acme Integration",
        callback_urls=[CALLBACK],
        scopes=["api", "refresh_token", "id", "openid"],
        certificate=key_pair()[1],
        refresh_token_rotation=rotation,
    )
    row = ConnectedAppPolicy.objects.get(app=created.app, org=org)
    if policy:
        set_policy(row, **policy)
    return App(created.app, created.consumer_secret, row)


def set_policy(row: ConnectedAppPolicy, **changes: Any) -> None:
    values = {
        "permitted_users": row.permitted_users,
        "ip_relaxation": row.ip_relaxation,
        "refresh_token_policy": row.refresh_token_policy,
        "refresh_token_validity": row.refresh_token_validity,
        "refresh_token_unit": row.refresh_token_unit,
    } | changes
    connected_app_policy_set(actor=None, policy=row, **values)
    row.refresh_from_db()


def pre_authorize(app: App, user: User) -> None:
    """A permission set linked to the app and assigned to the user."""
    ps = permission_set_create(
        org=user.org,
        actor=None,
        label=f"PS {secrets.token_hex(3)}",
        api_name=f"PS_{secrets.token_hex(3)}",
    )
    permission_set_assign(actor=None, permission_set=ps, users=[user])
    connected_app_permission_sets_set(actor=None, policy=app.policy, permission_sets=[ps])


def approve(app: App, user: User, scopes: str = "api refresh_token id openid") -> None:
    connected_app_consent_grant(app=app.app, user=user, scopes=scopes.split())


def token(client: Client, ip: str = "10.0.0.5", **data: Any) -> tuple[int, dict[str, Any]]:
    response = client.post(
        "/services/oauth2/token",
        urlencode(data, doseq=True),
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR=ip,
    )
    return response.status_code, response.json()


def jwt_token(
    client: Client, app: App, user: User, ip: str = "10.0.0.5", **claims: Any
) -> tuple[int, dict[str, Any]]:
    params = {"iss": app.key, "sub": user.username, "aud": LOGIN_URL} | claims
    return token(client, ip, grant_type=JWT_BEARER, assertion=assertion(**params))


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    return verifier, challenge


def authorize_code(
    client: Client,
    app: App,
    user: User,
    *,
    allow: bool = True,
    ip: str = "10.0.0.5",
    scope: str = "api refresh_token",
) -> tuple[str | None, str]:
    """Run the browser part of the web-server flow; returns (code, verifier)."""
    verifier, challenge = pkce_pair()
    client.force_login(user)
    params = {
        "response_type": "code",
        "client_id": app.key,
        "redirect_uri": CALLBACK,
        "scope": scope,
        "state": "xyz",
        "code_challenge": challenge,
    }
    response = client.get("/services/oauth2/authorize", params, REMOTE_ADDR=ip)
    if response.status_code == 200:  # the consent page
        form = response.context["form"]
        data = {k: v for k, v in form.initial.items() if v is not None}
        if allow:
            data["allow"] = "Authorize"
        response = client.post("/services/oauth2/authorize", data, REMOTE_ADDR=ip)
    if response.status_code != 302:
        return None, verifier
    query = parse_qs(urlsplit(response["Location"]).query)
    return (query.get("code") or [None])[0], verifier


def exchange(
    client: Client, app: App, code: str, verifier: str, ip: str = "10.0.0.5"
) -> tuple[int, dict[str, Any]]:
    return token(
        client,
        ip,
        grant_type="authorization_code",
        code=code,
        client_id=app.key,
        client_secret=app.secret,
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    )


def refresh(
    client: Client, app: App, refresh_token: str, ip: str = "10.0.0.5"
) -> tuple[int, dict[str, Any]]:
    return token(
        client,
        ip,
        grant_type="refresh_token",
        refresh_token=refresh_token,
        client_id=app.key,
        client_secret=app.secret,
    )


@pytest.fixture
def crm_client(db: None) -> Client:
    """Every request opens its database connection first (a 503 when it cannot), so even
    requests whose views never query need the database."""
    return Client(HTTP_HOST="localhost")
