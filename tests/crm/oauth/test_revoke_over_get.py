"""Revocation over GET and JSONP (docs/reference/oauth-policies.md, ADR 0403), beside POST."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from tandem.crm.oauth.models import AccessToken, RefreshToken
from tests.crm.oauth.conftest import authorize_code, exchange, make_app, refresh

REVOKE = "/services/oauth2/revoke"


@pytest.fixture
def issued(crm_client, org, marketer):
    """An app and a fresh access + refresh token pair of the marketer."""
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    status, tokens = exchange(crm_client, app, code, verifier)
    assert status == 200
    return app, tokens


def _identity(client, user, access_token):
    return client.get(f"/id/{user.org_id}/{user.id}", HTTP_AUTHORIZATION=f"Bearer {access_token}")


def _jsonp_argument(body: bytes, callback: str) -> dict:
    text = body.decode()
    prefix, suffix = f"/**/{callback}(", ");"
    assert text.startswith(prefix)
    assert text.endswith(suffix)
    return json.loads(text[len(prefix) : -len(suffix)])


def test_get_revokes_an_access_token(crm_client, marketer, issued):
    _, tokens = issued
    assert _identity(crm_client, marketer, tokens["access_token"]).status_code == 200

    response = crm_client.get(REVOKE, {"token": tokens["access_token"]})

    assert response.status_code == 200
    assert response.content == b""
    assert _identity(crm_client, marketer, tokens["access_token"]).status_code == 401


def test_revoking_an_access_token_leaves_its_refresh_token_usable(crm_client, marketer, issued):
    app, tokens = issued

    assert crm_client.get(REVOKE, {"token": tokens["access_token"]}).status_code == 200

    assert _identity(crm_client, marketer, tokens["access_token"]).status_code == 401
    status, body = refresh(crm_client, app, tokens["refresh_token"])
    assert status == 200, body
    assert _identity(crm_client, marketer, body["access_token"]).status_code == 200


def test_get_revokes_a_refresh_token_and_its_access_tokens(crm_client, marketer, issued):
    app, tokens = issued

    response = crm_client.get(REVOKE, {"token": tokens["refresh_token"]})

    assert response.status_code == 200
    assert _identity(crm_client, marketer, tokens["access_token"]).status_code == 401
    status, body = refresh(crm_client, app, tokens["refresh_token"])
    assert status == 400
    assert body["error"] == "invalid_grant"
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()


def test_get_with_an_unknown_token_is_invalid_token(crm_client, issued):
    response = crm_client.get(REVOKE, {"token": "nope"})

    assert response.status_code == 400
    assert response.json() == {"error": "invalid_token", "error_description": "invalid token"}
    assert AccessToken.objects.count() == 1


@pytest.mark.parametrize("query", ["", "?token=", "?token=a&token=b"])
def test_get_without_exactly_one_token_is_unsupported_token_type(crm_client, issued, query):
    response = crm_client.get(REVOKE + query)

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_token_type"
    assert AccessToken.objects.count() == 1


def test_jsonp_success_calls_back_with_an_empty_object(crm_client, marketer, issued):
    _, tokens = issued

    response = crm_client.get(REVOKE, {"token": tokens["access_token"], "callback": "onRevoke"})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/javascript; charset=utf-8"
    assert response.content == b"/**/onRevoke({});"
    assert response["Cache-Control"] == "no-store"
    assert _identity(crm_client, marketer, tokens["access_token"]).status_code == 401


def test_jsonp_failure_calls_back_with_the_error_pair(crm_client, issued):
    response = crm_client.get(REVOKE, {"token": "nope", "callback": "$jsonp_1"})

    assert response.status_code == 200  # a browser runs the callback only from a 2xx
    assert _jsonp_argument(response.content, "$jsonp_1") == {
        "error": "invalid_token",
        "error_description": "invalid token",
    }
    assert AccessToken.objects.count() == 1


def test_jsonp_keeps_the_security_headers_and_sets_no_cookie(crm_client, issued):
    _, tokens = issued  # the client also holds a browser session from the authorize step

    response = crm_client.get(REVOKE, {"token": tokens["access_token"], "callback": "cb"})

    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Length"] == str(len(response.content))
    assert not response.cookies


@pytest.mark.parametrize(
    "callback",
    [
        "",
        "alert(1)//",
        "</script><script>alert(1)</script>",
        "a.b",
        "a[0]",
        "1abc",
        "cb;alert(1)",
        "cb\n",
        "caf\u00e9",
        "x" * 65,
    ],
)
def test_a_bad_callback_is_refused_unreflected_and_revokes_nothing(crm_client, issued, callback):
    _, tokens = issued

    response = crm_client.get(REVOKE, {"token": tokens["access_token"], "callback": callback})

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"error": "invalid_request", "error_description": "invalid callback"}
    assert AccessToken.objects.count() == 1


def test_two_callbacks_are_refused(crm_client, issued):
    _, tokens = issued
    query = urlencode([("token", tokens["access_token"]), ("callback", "a"), ("callback", "b")])

    response = crm_client.get(f"{REVOKE}?{query}")

    assert response.status_code == 400
    assert AccessToken.objects.count() == 1


def test_the_longest_callback_is_accepted(crm_client, issued):
    callback = "x" * 64

    response = crm_client.get(REVOKE, {"token": "nope", "callback": callback})

    assert response.status_code == 200
    assert response.content.startswith(f"/**/{callback}(".encode())


def test_head_does_not_revoke(crm_client, marketer, issued):
    _, tokens = issued

    response = crm_client.head(REVOKE, {"token": tokens["access_token"]})

    assert response.status_code == 405
    assert _identity(crm_client, marketer, tokens["access_token"]).status_code == 200


def test_post_still_revokes_an_access_token(crm_client, marketer, issued):
    _, tokens = issued

    response = crm_client.post(
        REVOKE,
        urlencode({"token": tokens["access_token"], "callback": "ignored"}),
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response.content == b""
    assert _identity(crm_client, marketer, tokens["access_token"]).status_code == 401


def test_post_of_a_json_body_is_still_refused(crm_client, issued):
    _, tokens = issued

    response = crm_client.post(
        REVOKE, {"token": tokens["access_token"]}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert AccessToken.objects.count() == 1
