"""Revoke, introspect, userinfo, the identity URL, discovery and the password flow."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.crm.oauth.models import AccessToken, RefreshToken
from tandem.crm.orgs.services import trusted_ip_range_add
from tandem.crm.users.models import LoginHistory
from tandem.crm.users.services import security_token_reset
from tests.crm.conftest import PASSWORD
from tests.crm.oauth.conftest import (
    authorize_code,
    exchange,
    jwt_token,
    make_app,
    pre_authorize,
    token,
)


def _form(client, path, data, **headers):
    return client.post(
        path, urlencode(data), content_type="application/x-www-form-urlencoded", **headers
    )


def _basic(key, secret):
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()}


def _tokens(crm_client, org, user):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, user)
    return app, exchange(crm_client, app, code, verifier)[1]


def test_revoking_a_refresh_token_revokes_its_access_tokens(crm_client, org, marketer):
    _, tokens = _tokens(crm_client, org, marketer)

    response = _form(crm_client, "/services/oauth2/revoke", {"token": tokens["refresh_token"]})

    assert response.status_code == 200
    assert not AccessToken.objects.exists()
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_revoking_an_unknown_token_is_invalid_token(crm_client, org):
    response = _form(crm_client, "/services/oauth2/revoke", {"token": "nope"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_token"


def test_introspection_of_the_apps_own_token(crm_client, org, marketer):
    app, tokens = _tokens(crm_client, org, marketer)

    body = _form(
        crm_client,
        "/services/oauth2/introspect",
        {"token": tokens["access_token"]},
        **_basic(app.key, app.secret),
    ).json()

    assert body["active"] is True
    assert body["username"] == marketer.username
    assert body["client_id"] == app.key


def test_introspection_of_another_apps_token_is_inactive(crm_client, org, marketer):
    _, tokens = _tokens(crm_client, org, marketer)
    other = make_app(org)

    body = _form(
        crm_client,
        "/services/oauth2/introspect",
        {"token": tokens["access_token"]},
        **_basic(other.key, other.secret),
    ).json()

    assert body == {"active": False}


def test_introspection_needs_the_client_secret(crm_client, org, marketer):
    app, tokens = _tokens(crm_client, org, marketer)

    response = _form(
        crm_client,
        "/services/oauth2/introspect",
        {"token": tokens["access_token"]},
        **_basic(app.key, "wrong"),
    )

    assert response.status_code == 401


def test_identity_url_and_userinfo(crm_client, org, marketer):
    _, tokens = _tokens(crm_client, org, marketer)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}

    identity = crm_client.get(f"/id/{org.id}/{marketer.id}", **bearer)
    userinfo = crm_client.get("/services/oauth2/userinfo", **bearer)

    assert identity.status_code == 200
    assert identity.json()["user_id"] == marketer.id
    assert userinfo.json()["preferred_username"] == marketer.username


def test_identity_url_of_another_user_is_forbidden(crm_client, org, marketer, standard_user):
    _, tokens = _tokens(crm_client, org, marketer)

    response = crm_client.get(
        f"/id/{org.id}/{standard_user.id}", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
    )

    assert response.status_code == 403


def test_own_identity_url_reads_token_user_and_org_in_one_statement(crm_client, org, marketer):
    _, tokens = _tokens(crm_client, org, marketer)
    integration = Client(HTTP_HOST="localhost")  # a server-side caller: no session cookie

    with CaptureQueriesContext(connection) as queries:
        identity = integration.get(
            f"/id/{org.id}/{marketer.id}", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}"
        )

    assert identity.status_code == 200
    assert len(queries) == 1
    document = identity.json()
    assert (document["organization_id"], document["username"]) == (org.id, marketer.username)
    assert document["display_name"] == marketer.full_name


def test_identity_url_with_an_expired_or_deleted_token_is_401(crm_client, org, marketer):
    _, tokens = _tokens(crm_client, org, marketer)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    AccessToken.objects.update(expires=timezone.now() - timedelta(seconds=1))

    expired = crm_client.get(f"/id/{org.id}/{marketer.id}", **bearer)
    AccessToken.objects.all().delete()
    deleted = crm_client.get(f"/id/{org.id}/{marketer.id}", **bearer)

    assert (expired.status_code, deleted.status_code) == (401, 401)


def test_identity_url_without_a_token_is_401(crm_client, org, marketer):
    assert crm_client.get(f"/id/{org.id}/{marketer.id}").status_code == 401


def test_discovery_advertises_s256_and_the_jwt_grant(crm_client):
    body = crm_client.get("/.well-known/openid-configuration").json()

    assert body["code_challenge_methods_supported"] == ["S256"]
    assert "urn:ietf:params:oauth:grant-type:jwt-bearer" in body["grant_types_supported"]
    assert body["response_types_supported"] == ["code"]


def _password(crm_client, app, user, password):
    return token(
        crm_client,
        grant_type="password",
        client_id=app.key,
        client_secret=app.secret,
        username=user.username,
        password=password,
    )


@pytest.fixture
def password_app(org):
    """An app in an org that allows the password flow, called from its trusted range."""
    org.allow_username_password_flows = True
    org.save()
    trusted_ip_range_add(actor=None, org=org, start_address="10.0.0.0", end_address="10.0.0.255")
    return make_app(org, ip_relaxation="BYPASS")


def test_password_flow_is_off_unless_the_org_allows_it(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")

    status, body = _password(crm_client, app, marketer, PASSWORD)

    assert (status, body["error_description"]) == (400, "authentication failure")
    assert LoginHistory.objects.filter(status="Username-Password Flow Disabled").exists()


def test_password_flow_needs_the_security_token_outside_trusted_ranges(crm_client, org, marketer):
    org.allow_username_password_flows = True
    org.save()
    app = make_app(org, ip_relaxation="BYPASS")
    security_token = security_token_reset(user=marketer)

    without = _password(crm_client, app, marketer, PASSWORD)
    with_token = _password(crm_client, app, marketer, PASSWORD + security_token)

    assert without[0] == 400
    assert LoginHistory.objects.filter(status="Failed: API security token required").exists()
    assert with_token[0] == 200
    assert "refresh_token" not in with_token[1]


def test_password_flow_from_a_trusted_range_needs_no_security_token(
    crm_client, password_app, marketer
):
    app = password_app

    assert _password(crm_client, app, marketer, PASSWORD)[0] == 200


def test_password_flow_failures_lock_the_user_out_as_the_login_page_does(
    crm_client, password_app, marketer, settings
):
    settings.CRM_LOCKOUT_ATTEMPTS = 3
    app = password_app

    for _ in range(3):
        assert _password(crm_client, app, marketer, "wrong password")[0] == 400
    status, body = _password(crm_client, app, marketer, PASSWORD)

    assert (status, body["error_description"]) == (400, "authentication failure")
    assert LoginHistory.objects.filter(user=marketer, status="Password Lockout").exists()
    assert not LoginHistory.objects.filter(user=marketer, status="Success").exists()
    marketer.refresh_from_db()
    assert marketer.locked_until is not None


def test_password_flow_success_leaves_one_login_history_row(crm_client, password_app, marketer):
    app = password_app

    assert _password(crm_client, app, marketer, PASSWORD)[0] == 200

    rows = LoginHistory.objects.filter(user=marketer)
    assert [(r.status, r.login_type) for r in rows] == [("Success", "Remote Access 2.0")]


def test_wrong_client_secret_is_invalid_client(crm_client, org, system_user):
    app = make_app(org, ip_relaxation="BYPASS")
    app.secret = "wrong"
    code, verifier = authorize_code(crm_client, app, system_user)

    status, body = exchange(crm_client, app, code, verifier)

    assert (status, body["error"]) == (400, "invalid_client")


def test_token_response_signature_verifies_with_the_consumer_secret(crm_client, org, system_user):
    import hashlib
    import hmac

    app = make_app(org, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
    pre_authorize(app, system_user)

    _, body = jwt_token(Client(HTTP_HOST="localhost"), app, system_user)

    mac = hmac.new(app.secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    assert body["signature"] == base64.b64encode(mac.digest()).decode()
    assert len(body["issued_at"]) == 13


def test_introspection_accepts_the_credentials_in_the_form(crm_client, org, marketer):
    app, tokens = _tokens(crm_client, org, marketer)

    body = _form(
        crm_client,
        "/services/oauth2/introspect",
        {
            "token": tokens["access_token"],
            "client_id": app.key,
            "client_secret": app.secret,
        },
    ).json()

    assert body["active"] is True


def test_introspection_with_garbage_basic_credentials_is_401(crm_client, org, marketer):
    _, tokens = _tokens(crm_client, org, marketer)

    response = _form(
        crm_client,
        "/services/oauth2/introspect",
        {"token": tokens["access_token"]},
        HTTP_AUTHORIZATION="Basic %%%not-base64\x00",
    )

    assert response.status_code == 401
