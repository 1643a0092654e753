"""Tokens and credentials in the shapes Salesforce clients check: access tokens are session
ids, `<15-character org id>!<opaque>` (the sf CLI's `org login access-token`); refresh tokens,
consumer keys and secrets fit an sfdx auth URL (`sf org login sfdx-url`)."""

from __future__ import annotations

import re
from datetime import timedelta

from django.test import Client

from tandem.crm.api.auth import token_principal
from tandem.crm.oauth.crypto import opaque_token, token_checksum
from tandem.crm.oauth.models import AccessToken
from tandem.crm.oauth.services import session_token_issue
from tests.crm.oauth.conftest import (
    authorize_code,
    exchange,
    jwt_token,
    make_app,
    pre_authorize,
    refresh,
)

# sfdx-core's matchesAccessToken (unanchored there; anchored here to check every character).
SESSION_ID = re.compile(r"(00D\w{12,15})![.\w]*")
# sfdx-core's parseSfdxAuthUrl.
SFDX_AUTH_URL = re.compile(
    r"^force://([a-zA-Z0-9._-]+):([a-zA-Z0-9._-]*):([a-zA-Z0-9._-]+={0,2})@([a-zA-Z0-9._-]+)"
)
# Stricter validators seen in the wild: refresh tokens of [a-zA-Z0-9._], secrets alphanumeric.
STRICT_REFRESH = re.compile(r"[a-zA-Z0-9._]+")


def _session_of(org, value: str) -> None:
    match = SESSION_ID.fullmatch(value)
    assert match is not None, value
    assert match.group(1) == org.id[:15]


def test_every_grant_issues_session_ids(crm_client, org, system_user, marketer):
    jwt_app = make_app(org, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
    pre_authorize(jwt_app, system_user)
    web_app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, web_app, marketer)

    _, by_jwt = jwt_token(crm_client, jwt_app, system_user)
    _, by_code = exchange(crm_client, web_app, code, verifier)
    _, by_refresh = refresh(crm_client, web_app, by_code["refresh_token"])

    for body in (by_jwt, by_code, by_refresh):
        _session_of(org, body["access_token"])
        assert token_principal(body["access_token"]) is not None


def test_refresh_tokens_and_app_credentials_fit_an_sfdx_auth_url(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    _, tokens = exchange(crm_client, app, code, verifier)

    url = f"force://{app.key}:{app.secret}:{tokens['refresh_token']}@localhost"
    match = SFDX_AUTH_URL.match(url)

    assert match is not None
    assert match.groups() == (app.key, app.secret, tokens["refresh_token"], "localhost")
    assert STRICT_REFRESH.fullmatch(tokens["refresh_token"])
    assert app.secret.isalnum()


def test_the_opaque_part_never_holds_other_characters():
    values = [opaque_token() for _ in range(200)]  # base64url would hold a '-' in about half

    assert all(re.fullmatch(r"[A-Za-z0-9_.]{43}", value) for value in values)
    assert len(set(values)) == 200


def test_session_token_issue_is_a_live_api_session(org, system_user):
    raw = session_token_issue(user=system_user, lifetime=timedelta(hours=2))

    _session_of(org, raw)
    stored = AccessToken.objects.get(token_checksum=token_checksum(raw))
    assert stored.application is None
    assert stored.token == ""  # only the checksum at rest
    response = Client(HTTP_HOST="localhost").get(
        "/services/data/v62.0/limits", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200, response.content


def test_an_expired_session_is_refused(org, system_user):
    raw = session_token_issue(user=system_user, lifetime=timedelta(seconds=-1))

    assert token_principal(raw) is None
