"""Each grant once, end to end through the Django test client."""

from __future__ import annotations

from tests.crm.oauth.conftest import (
    authorize_code,
    exchange,
    jwt_token,
    make_app,
    pre_authorize,
    refresh,
)


def test_jwt_bearer_for_a_pre_authorized_user(crm_client, org, system_user):
    app = make_app(org, permitted_users="AdminApprovedPreAuthorized")
    pre_authorize(app, system_user)

    status, body = jwt_token(crm_client, app, system_user)

    assert status == 200, body
    assert body["instance_url"] == "http://acme.my.localhost:8001"
    assert body["id"] == f"http://localhost:8001/id/{org.id}/{system_user.id}"
    assert "refresh_token" not in body
    assert "signature" in body


def test_web_server_flow_then_refresh(crm_client, org, marketer):
    app = make_app(org, rotation=True)

    code, verifier = authorize_code(crm_client, app, marketer)
    status, body = exchange(crm_client, app, code, verifier)

    assert status == 200, body
    assert body["refresh_token"]
    status2, body2 = refresh(crm_client, app, body["refresh_token"])
    assert status2 == 200, body2
    assert body2["refresh_token"] != body["refresh_token"]
