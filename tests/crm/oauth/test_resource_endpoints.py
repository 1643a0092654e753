"""Revoke, introspect, userinfo, the identity URL, discovery and the password flow."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine
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
    refresh,
    set_policy,
    token,
)

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


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


QUERY_TOKEN_PAIR = {
    "error": "invalid_token",
    "error_description": "access tokens are not accepted in the query string",
}


@pytest.mark.parametrize("with_header", [False, True], ids=["query-only", "query-and-header"])
def test_access_tokens_in_the_query_string_are_refused(crm_client, org, marketer, with_header):
    """RFC 9700 §4.3.2: userinfo and the identity URL answer an OAuth error pair (401), even
    when a valid Authorization header comes too; the same token in the header alone works."""
    _, tokens = _tokens(crm_client, org, marketer)
    query = urlencode({"access_token": tokens["access_token"]})
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    headers = bearer if with_header else {}

    userinfo = crm_client.get(f"/services/oauth2/userinfo?{query}", **headers)
    posted = crm_client.post(f"/services/oauth2/userinfo?{query}", **headers)
    identity = crm_client.get(f"/id/{org.id}/{marketer.id}?{query}", **headers)

    for response in (userinfo, posted, identity):
        assert response.status_code == 401
        assert response.json() == QUERY_TOKEN_PAIR
        assert response["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
        assert response["Cache-Control"] == "no-store"
    assert crm_client.get("/services/oauth2/userinfo", **bearer).status_code == 200
    assert crm_client.get(f"/id/{org.id}/{marketer.id}", **bearer).status_code == 200


def _introspect(crm_client, app, token_value):
    return _form(
        crm_client,
        "/services/oauth2/introspect",
        {"token": token_value},
        **_basic(app.key, app.secret),
    ).json()


def _set_state(user, state, value):
    """Deactivate or freeze the user, or deactivate their org (value False undoes it)."""
    if state == "inactive_org":
        user.org.is_active = not value
        user.org.save()
    else:
        setattr(
            user,
            {"inactive": "is_active", "frozen": "is_frozen"}[state],
            value if state == "frozen" else not value,
        )
        user.save()


@pytest.mark.parametrize("state", ["inactive", "frozen", "inactive_org"])
def test_tokens_of_a_user_who_may_not_log_in_are_refused_and_inactive(
    crm_client, org, marketer, state
):
    """userinfo and the identity URL answer 401 and introspection says inactive, for the access
    token and the refresh token alike, while the user is inactive or frozen or the org is
    inactive; nothing is revoked, so the same tokens work again once that is undone."""
    app, tokens = _tokens(crm_client, org, marketer)
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {tokens['access_token']}"}
    identity_url = f"/id/{org.id}/{marketer.id}"

    _set_state(marketer, state, True)
    userinfo = crm_client.get("/services/oauth2/userinfo", **bearer)
    identity = crm_client.get(identity_url, **bearer)
    access = _introspect(crm_client, app, tokens["access_token"])
    refresh_token = _introspect(crm_client, app, tokens["refresh_token"])
    _set_state(marketer, state, False)

    for response in (userinfo, identity):
        assert response.status_code == 401
        assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert access == {"active": False}
    assert refresh_token == {"active": False}
    assert crm_client.get("/services/oauth2/userinfo", **bearer).status_code == 200
    assert crm_client.get(identity_url, **bearer).status_code == 200
    assert _introspect(crm_client, app, tokens["access_token"])["active"] is True
    assert _introspect(crm_client, app, tokens["refresh_token"])["active"] is True


def test_introspection_of_a_refresh_token_follows_the_refresh_token_policy(
    crm_client, org, marketer
):
    """Active exactly while a refresh with it would pass: the policy read at introspection
    time, as at refresh time (expire after N counts from the first grant)."""
    with time_machine.travel(NOON, tick=False):
        app, tokens = _tokens(crm_client, org, marketer)
    rt = tokens["refresh_token"]

    set_policy(
        app.policy,
        refresh_token_policy="specific_lifetime",
        refresh_token_validity=1,
        refresh_token_unit="HOURS",
    )
    with time_machine.travel(NOON + timedelta(minutes=59), tick=False):
        within = _introspect(crm_client, app, rt)
    with time_machine.travel(NOON + timedelta(minutes=61), tick=False):
        after = _introspect(crm_client, app, rt)
        refused = refresh(crm_client, app, rt)
    set_policy(app.policy, refresh_token_policy="zero")
    with time_machine.travel(NOON + timedelta(minutes=1), tick=False):
        zero = _introspect(crm_client, app, rt)
    set_policy(app.policy, refresh_token_policy="infinite")
    with time_machine.travel(NOON + timedelta(days=400), tick=False):
        infinite = _introspect(crm_client, app, rt)

    assert (within["active"], within["token_type"]) == (True, "refresh_token")
    assert after == {"active": False}
    assert refused[1]["error_description"] == "expired access/refresh token"
    assert zero == {"active": False}
    assert infinite["active"] is True


def test_introspection_of_a_refresh_token_follows_the_permitted_users(crm_client, org, marketer):
    app, tokens = _tokens(crm_client, org, marketer)
    set_policy(app.policy, permitted_users="AdminApprovedPreAuthorized")

    not_approved = _introspect(crm_client, app, tokens["refresh_token"])
    pre_authorize(app, marketer)
    approved = _introspect(crm_client, app, tokens["refresh_token"])

    assert not_approved == {"active": False}
    assert approved["active"] is True
