"""The lean request path of the token, introspection and revocation endpoints, and the
one-statement reads behind them: same headers, same org checks, every change read fresh."""

from __future__ import annotations

import base64
from datetime import timedelta
from urllib.parse import urlencode

import time_machine
from django.test import Client
from django.utils import timezone

from tandem.crm.oauth.models import AccessToken
from tandem.crm.users.models import LoginHistory, ProfileLoginIpRange
from tests.crm.oauth.conftest import JWT_BEARER, jwt_token, make_app, pre_authorize, token

ADMIN = "AdminApprovedPreAuthorized"


def _admin_app(org, user, **policy):
    app = make_app(org, permitted_users=ADMIN, **({"ip_relaxation": "BYPASS"} | policy))
    pre_authorize(app, user)
    return app


def _introspect(client, app, access_token):
    credentials = base64.b64encode(f"{app.key}:{app.secret}".encode()).decode()
    return client.post(
        "/services/oauth2/introspect",
        urlencode({"token": access_token}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )


def test_token_endpoint_keeps_the_security_headers_and_sets_no_cookie(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    crm_client.force_login(system_user)  # a browser session must not matter to the endpoint

    response = crm_client.post(
        "/services/oauth2/token",
        urlencode({"grant_type": "client_credentials"}),
        content_type="application/x-www-form-urlencoded",
        HTTP_AUTHORIZATION="Basic " + base64.b64encode(f"{app.key}:x".encode()).decode(),
    )

    assert response.status_code in (400, 401)
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))
    assert not response.cookies


def test_token_endpoint_on_an_unknown_my_domain_is_404(org, system_user):
    app = _admin_app(org, system_user)
    unknown = Client(HTTP_HOST="nobody.my.localhost:8001")

    response = unknown.post(
        "/services/oauth2/token",
        urlencode({"grant_type": JWT_BEARER, "assertion": "x"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 404
    assert not AccessToken.objects.filter(application=app.app).exists()


def test_assertion_with_a_non_base64url_segment_is_invalid_grant(crm_client, org, system_user):
    _admin_app(org, system_user)

    status, body = token(crm_client, grant_type=JWT_BEARER, assertion="eyJh!.e30.sig")

    assert status == 400
    assert body == {"error": "invalid_grant", "error_description": "invalid assertion"}
    assert not AccessToken.objects.exists()


def test_introspection_of_an_expired_access_token_is_inactive(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    issued = jwt_token(crm_client, app, system_user)[1]["access_token"]
    assert _introspect(crm_client, app, issued).json()["active"] is True

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        body = _introspect(crm_client, app, issued).json()

    assert body == {"active": False}


def test_introspection_of_a_revoked_access_token_is_inactive(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    issued = jwt_token(crm_client, app, system_user)[1]["access_token"]
    crm_client.post(
        "/services/oauth2/revoke",
        urlencode({"token": issued}),
        content_type="application/x-www-form-urlencoded",
    )

    assert _introspect(crm_client, app, issued).json() == {"active": False}


def test_a_login_ip_range_added_after_a_grant_applies_to_the_next_jwt(crm_client, org, system_user):
    app = _admin_app(org, system_user, ip_relaxation="ENFORCE")
    assert jwt_token(crm_client, app, system_user, ip="10.0.0.5")[0] == 200

    ProfileLoginIpRange.objects.create(
        profile=system_user.profile, start_address="192.0.2.1", end_address="192.0.2.9"
    )
    status, body = jwt_token(crm_client, app, system_user, ip="10.0.0.5")

    assert status == 400
    assert body["error_description"] == "IP restricted or invalid login hours"
    assert LoginHistory.objects.filter(user=system_user).count() == 2


def test_the_usage_count_grows_by_one_per_token(crm_client, org, system_user):
    from tandem.crm.connectedapps.models import ConnectedAppUsage

    app = _admin_app(org, system_user)
    for _ in range(3):
        assert jwt_token(crm_client, app, system_user)[0] == 200

    usage = ConnectedAppUsage.objects.get(app=app.app, user=system_user)

    assert usage.use_count == 3
