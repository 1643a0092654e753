"""Refresh without rotation (the default, as Salesforce): the same refresh token works again and
again, no new one is returned and earlier access tokens stay live; with the app's "Enable Refresh
Token Rotation" each refresh returns a new one and ends the old. A refresh the Refresh Token
Policy refuses never ends the live session."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

import pytest
import time_machine

from tandem.crm.api.auth import token_principal
from tandem.crm.oauth.models import AccessToken, RefreshToken
from tandem.crm.users.models import LoginHistory
from tests.crm.oauth.conftest import authorize_code, exchange, make_app, refresh, set_policy, token

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _approved(crm_client, org, user, **app_options):
    app = make_app(org, ip_relaxation="BYPASS", **app_options)
    code, verifier = authorize_code(crm_client, app, user)
    status, tokens = exchange(crm_client, app, code, verifier)
    assert status == 200, tokens
    return app, tokens


def _live(access_token: str) -> bool:
    """What the REST API would see: the token's principal, or None."""
    return token_principal(access_token) is not None


def test_two_refreshes_in_a_row_with_the_same_refresh_token(crm_client, org, marketer):
    app, tokens = _approved(crm_client, org, marketer)

    first_status, first = refresh(crm_client, app, tokens["refresh_token"])
    second_status, second = refresh(crm_client, app, tokens["refresh_token"])

    assert (first_status, second_status) == (200, 200), (first, second)
    assert "refresh_token" not in first
    assert "refresh_token" not in second
    assert len({tokens["access_token"], first["access_token"], second["access_token"]}) == 3
    assert all(
        _live(t) for t in (tokens["access_token"], first["access_token"], second["access_token"])
    )
    assert RefreshToken.objects.filter(revoked__isnull=True).count() == 1


def test_revoking_the_refresh_token_ends_every_access_token_it_issued(crm_client, org, marketer):
    app, tokens = _approved(crm_client, org, marketer)
    _, refreshed = refresh(crm_client, app, tokens["refresh_token"])

    response = crm_client.post(
        "/services/oauth2/revoke",
        urlencode({"token": tokens["refresh_token"]}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert not _live(tokens["access_token"])
    assert not _live(refreshed["access_token"])
    assert not AccessToken.objects.exists()
    assert refresh(crm_client, app, tokens["refresh_token"])[0] == 400


def test_with_rotation_each_refresh_returns_a_new_refresh_token(crm_client, org, marketer):
    app, tokens = _approved(crm_client, org, marketer, rotation=True)

    status, refreshed = refresh(crm_client, app, tokens["refresh_token"])

    assert status == 200, refreshed
    assert refreshed["refresh_token"] != tokens["refresh_token"]
    assert refresh(crm_client, app, refreshed["refresh_token"])[0] == 200


def test_with_rotation_the_presented_refresh_token_is_used_up(crm_client, org, marketer):
    app, tokens = _approved(crm_client, org, marketer, rotation=True)
    refresh(crm_client, app, tokens["refresh_token"])

    status, body = refresh(crm_client, app, tokens["refresh_token"])

    assert status == 400
    assert body["error_description"] == "expired access/refresh token"


def test_a_refresh_refused_by_the_zero_policy_keeps_the_session(crm_client, org, marketer):
    app, tokens = _approved(crm_client, org, marketer)
    set_policy(app.policy, refresh_token_policy="zero")

    status, body = refresh(crm_client, app, tokens["refresh_token"])

    assert (status, body["error_description"]) == (400, "expired access/refresh token")
    assert _live(tokens["access_token"])
    assert AccessToken.objects.count() == 1
    assert LoginHistory.objects.filter(
        user=marketer, status="Failed: Refresh token expired"
    ).exists()


@pytest.mark.parametrize("rotation", [False, True])
def test_inactivity_counts_from_the_last_refresh(crm_client, org, marketer, rotation):
    with time_machine.travel(T0, tick=False):
        app, tokens = _approved(crm_client, org, marketer, rotation=rotation)
        set_policy(
            app.policy,
            refresh_token_policy="specific_inactivity",
            refresh_token_validity=4,
            refresh_token_unit="HOURS",
        )
    current = tokens["refresh_token"]

    results = []
    for hours in (3, 6, 9, 14):  # 3 h between the uses, then 5 h of silence
        with time_machine.travel(T0 + timedelta(hours=hours), tick=False):
            status, body = refresh(crm_client, app, current)
        results.append(status)
        current = body.get("refresh_token", current)

    assert results == [200, 200, 200, 400]


def test_the_refresh_grant_without_a_token_is_refused(crm_client, org, marketer):
    app, _tokens = _approved(crm_client, org, marketer)

    status, body = token(
        crm_client, grant_type="refresh_token", client_id=app.key, client_secret=app.secret
    )

    assert status == 400
    assert body["error"] == "invalid_request"
