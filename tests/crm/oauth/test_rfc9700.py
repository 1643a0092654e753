"""The RFC 9700 points that apply: exact redirect matching, no open redirect, PKCE (required,
S256 only, no downgrade), no implicit grant, clickjacking headers, tokens hashed at rest."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from django.views.debug import SafeExceptionReporterFilter

from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import connected_app_create
from tandem.crm.oauth.crypto import decrypt_secret, secret_matches
from tandem.crm.oauth.models import AccessToken, Grant, RefreshToken
from tests.crm.oauth.conftest import (
    CALLBACK,
    approve,
    authorize_code,
    exchange,
    make_app,
    pkce_pair,
    token,
)
from tests.secrets_at_rest import assert_nowhere_in_database


def _authorize(client, user, **params):
    client.force_login(user)
    return client.get("/services/oauth2/authorize", params)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        CALLBACK + "/",
        CALLBACK.upper(),
        CALLBACK + "?next=https://evil.example",
        "https://client.example/callback/../evil",
        "https://evil.example/callback",
        "https://client.example:443/callback",
    ],
)
def test_redirect_uri_must_match_exactly_and_is_never_followed(
    crm_client, org, marketer, redirect_uri
):
    app = make_app(org)
    _, challenge = pkce_pair()

    response = _authorize(
        crm_client,
        marketer,
        response_type="code",
        client_id=app.key,
        redirect_uri=redirect_uri,
        code_challenge=challenge,
    )

    assert response.status_code == 400
    assert "Location" not in response
    assert response.context["pair"].error == "redirect_uri_mismatch"
    assert not Grant.objects.exists()


def test_unknown_client_gets_an_error_page_not_a_redirect(crm_client, org, marketer):
    response = _authorize(
        crm_client,
        marketer,
        response_type="code",
        client_id="nope",
        redirect_uri="https://evil.example/",
    )

    assert response.status_code == 400
    assert "Location" not in response
    assert response.context["pair"].error == "invalid_client_id"


def test_authorize_without_pkce_is_refused_when_the_app_requires_it(crm_client, org, marketer):
    app = make_app(org)

    response = _authorize(
        crm_client,
        marketer,
        response_type="code",
        client_id=app.key,
        redirect_uri=CALLBACK,
        state="s1",
    )

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["s1"]
    assert not Grant.objects.exists()


def test_plain_pkce_method_is_refused(crm_client, org, marketer):
    app = make_app(org)

    response = _authorize(
        crm_client,
        marketer,
        response_type="code",
        client_id=app.key,
        redirect_uri=CALLBACK,
        code_challenge="x" * 50,
        code_challenge_method="plain",
    )

    assert response.status_code == 302
    assert "error=" in response["Location"]
    assert not Grant.objects.exists()


@pytest.mark.parametrize(
    ("param", "value", "description"),
    [
        ("code_challenge", "x" * 129, "invalid code_challenge"),
        ("code_challenge", "short", "invalid code_challenge"),
        ("code_challenge", "a b" * 20, "invalid code_challenge"),
        ("nonce", "n" * 256, "invalid nonce"),
    ],
)
def test_malformed_pkce_or_nonce_is_refused_on_the_callback(
    crm_client, org, marketer, param, value, description
):
    app = make_app(org)
    params = {
        "response_type": "code",
        "client_id": app.key,
        "redirect_uri": CALLBACK,
        "scope": "openid api",
        "code_challenge": pkce_pair()[1],
        "state": "s1",
        param: value,
    }

    response = _authorize(crm_client, marketer, **params)

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["error_description"] == [description]
    assert query["state"] == ["s1"]
    assert not Grant.objects.exists()


@pytest.mark.parametrize("scope", ["api", None])
def test_an_over_long_nonce_without_openid_is_refused_for_an_approved_user(
    crm_client, org, marketer, scope
):
    app = make_app(org)
    approve(app, marketer, scopes="api refresh_token id openid")  # the code would be issued now
    params = {
        "response_type": "code",
        "client_id": app.key,
        "redirect_uri": CALLBACK,
        "code_challenge": pkce_pair()[1],
        "state": "s1",
        "nonce": "n" * 256,
        **({"scope": scope} if scope else {}),
    }

    response = _authorize(crm_client, marketer, **params)

    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error_description"] == ["invalid nonce"]
    assert not Grant.objects.exists()


def test_nul_bytes_in_parameters_get_the_error_page(crm_client, org, marketer):
    app = make_app(org)

    response = _authorize(
        crm_client,
        marketer,
        response_type="code",
        client_id=app.key,
        redirect_uri=CALLBACK,
        code_challenge=pkce_pair()[1],
        scope="openid api",
        nonce="a\x00b",
    )

    assert response.status_code == 400
    assert b"invalid parameter" in response.content
    assert not Grant.objects.exists()


@pytest.mark.parametrize("response_type", ["token", "id_token", "code token", "code id_token"])
def test_no_implicit_or_hybrid_grant(crm_client, org, marketer, response_type):
    app = make_app(org)
    _, challenge = pkce_pair()

    response = _authorize(
        crm_client,
        marketer,
        response_type=response_type,
        client_id=app.key,
        redirect_uri=CALLBACK,
        code_challenge=challenge,
    )
    if response.status_code == 200 and response.context and "form" in response.context:
        # Were a consent page shown, Allow must still issue nothing.
        data = {k: v for k, v in response.context["form"].initial.items() if v is not None}
        response = crm_client.post("/services/oauth2/authorize", {**data, "allow": "Authorize"})

    # Refused with an error redirect to the registered callback: no code, no token, no fragment.
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert response["Location"].startswith(CALLBACK + "?")
    assert location.fragment == ""
    assert query["error"][0] in {"unsupported_response_type", "unsupported_grant_type"}
    assert "code" not in query
    assert "access_token" not in query
    assert "id_token" not in query
    assert not Grant.objects.exists()
    assert not AccessToken.objects.exists()


def _issuers(client) -> set[str]:
    return {
        client.get(path).json()["issuer"]
        for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server")
    }


def _iss(location: str) -> list[str]:
    return parse_qs(urlsplit(location).query)["iss"]


@pytest.mark.parametrize("host", ["localhost", "acme.my.localhost", "127.0.0.1:8001"])
def test_iss_on_every_authorization_response_is_the_metadata_issuer(org, marketer, host):
    """RFC 9207: a code, an error redirect (refused parameter, denied consent, oauthlib error)
    and the way back from a policy refusal all carry the issuer both metadata documents
    publish, whatever host the browser called."""
    client = Client(HTTP_HOST=host)
    [issuer] = _issuers(client)
    app = make_app(org)
    admin_only = make_app(org, permitted_users="AdminApprovedPreAuthorized")
    _, challenge = pkce_pair()
    base = {
        "response_type": "code",
        "client_id": app.key,
        "redirect_uri": CALLBACK,
        "code_challenge": challenge,
        "state": "s1",
    }

    consent = _authorize(client, marketer, **base)
    data = {k: v for k, v in consent.context["form"].initial.items() if v is not None}
    denied = client.post("/services/oauth2/authorize", data)  # no "allow": Deny
    code = client.post("/services/oauth2/authorize", {**data, "allow": "Authorize"})
    plain = _authorize(client, marketer, **base, code_challenge_method="plain")
    bad_type = _authorize(client, marketer, **{**base, "response_type": "token"})
    refused = _authorize(client, marketer, **{**base, "client_id": admin_only.key})

    assert issuer == "http://localhost:8001"
    assert "code" in parse_qs(urlsplit(code["Location"]).query)
    for response, error in (
        (denied, "access_denied"),
        (plain, "invalid_request"),
        (bad_type, "unsupported_response_type"),
    ):
        assert response.status_code == 302
        assert parse_qs(urlsplit(response["Location"]).query)["error"] == [error]
    for location in (
        code["Location"],
        denied["Location"],
        plain["Location"],
        bad_type["Location"],
        refused.context["callback"],
    ):
        assert location.startswith(CALLBACK + "?")
        assert _iss(location) == [issuer]
        assert parse_qs(urlsplit(location).query)["state"] == ["s1"]


def test_wrong_code_verifier_is_invalid_request(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, _ = authorize_code(crm_client, app, marketer)

    status, body = exchange(crm_client, app, code, "w" * 50)

    assert status == 400
    assert body["error"] == "invalid_request"
    assert not AccessToken.objects.exists()


def test_pkce_downgrade_is_refused(crm_client, org, marketer):
    created = connected_app_create(
        org=org,
        actor=None,
        name="No PKCE",
        callback_urls=[CALLBACK],
        scopes=["api"],
        pkce_required=False,
    )
    crm_client.force_login(marketer)
    params = {"response_type": "code", "client_id": created.app.client_id, "redirect_uri": CALLBACK}
    response = crm_client.get("/services/oauth2/authorize", params)
    data = {k: v for k, v in response.context["form"].initial.items() if v is not None}
    response = crm_client.post("/services/oauth2/authorize", {**data, "allow": "Authorize"})
    code = parse_qs(urlsplit(response["Location"]).query)["code"][0]

    status, body = token(
        crm_client,
        grant_type="authorization_code",
        code=code,
        client_id=created.app.client_id,
        client_secret=created.consumer_secret,
        redirect_uri=CALLBACK,
        code_verifier="v" * 50,
    )

    assert status == 400
    assert body["error"] == "invalid_grant"
    assert not AccessToken.objects.exists()


def test_authorize_page_cannot_be_framed(crm_client, org, marketer):
    app = make_app(org)
    _, challenge = pkce_pair()

    response = _authorize(
        crm_client,
        marketer,
        response_type="code",
        client_id=app.key,
        redirect_uri=CALLBACK,
        code_challenge=challenge,
    )

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "Access-Control-Allow-Origin" not in response


def test_login_page_cannot_be_framed(crm_client):
    response = crm_client.get("/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]


def test_codes_and_tokens_are_stored_only_as_hashes(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    stored_code = Grant.objects.get().code

    _, body = exchange(crm_client, app, code, verifier)

    assert stored_code == hashlib.sha256(code.encode()).hexdigest()
    access, refresh_row = AccessToken.objects.get(), RefreshToken.objects.get()
    assert access.token == ""
    assert refresh_row.token == ""
    assert access.token_checksum == hashlib.sha256(body["access_token"].encode()).hexdigest()
    assert refresh_row.token_checksum == hashlib.sha256(body["refresh_token"].encode()).hexdigest()
    # The consumer secret: its keyed hash verifies it, its ciphertext opens to it, and neither
    # the secret, the code nor a token is in any column of any row.
    stored = ConnectedApp.objects.get(pk=app.app.pk)
    assert secret_matches(app.secret, stored.client_secret)
    assert not secret_matches(app.secret[:-1] + "x", stored.client_secret)
    assert decrypt_secret(stored.consumer_secret_encrypted) == app.secret
    assert_nowhere_in_database(app.secret, code, body["access_token"], body["refresh_token"])


@pytest.mark.parametrize(
    ("path", "secrets"),
    [
        (
            "/services/oauth2/token",
            ["code", "code_verifier", "client_secret", "refresh_token", "password", "assertion"],
        ),
        ("/services/oauth2/revoke", ["token"]),
        ("/services/oauth2/introspect", ["token", "client_secret"]),
    ],
)
def test_error_reports_never_show_posted_secrets(db, crm_client, path, secrets):
    """Django's error report (SafeExceptionReporterFilter) shows each posted secret of the
    token, revocation and introspection endpoints as stars, and the other values as sent."""
    sent = {name: f"secret-{name}-0123456789" for name in secrets}
    sent |= {"grant_type": "authorization_code", "client_id": "visible-client-id"}

    response = crm_client.post(
        path, urlencode(sent), content_type="application/x-www-form-urlencoded"
    )
    shown = SafeExceptionReporterFilter().get_post_parameters(response.wsgi_request)

    for name in secrets:
        assert shown[name] == SafeExceptionReporterFilter.cleansed_substitute
    assert shown["client_id"] == "visible-client-id"
    assert not any(sent[name] in str(value) for name in secrets for value in shown.values())


def test_token_endpoint_refuses_get(crm_client):
    response = crm_client.get("/services/oauth2/token", {"grant_type": "password"})

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_token_endpoint_refuses_json_bodies(crm_client):
    response = crm_client.post(
        "/services/oauth2/token", {"grant_type": "password"}, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_duplicated_parameters_are_refused(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    body = urlencode(
        [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", app.key),
            ("client_id", app.key),
            ("client_secret", app.secret),
            ("redirect_uri", CALLBACK),
            ("code_verifier", verifier),
        ]
    )

    response = crm_client.post(
        "/services/oauth2/token", body, content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 400
    assert not AccessToken.objects.exists()
