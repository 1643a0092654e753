"""Property: whatever reaches the authorize endpoint (logged in, GET then Allow), the answer is a
page or a redirect, never a 500, and a code only for a well-formed request.

For every answer: a redirect goes only to the registered callback (a code or an error, never
both, `state` echoed, RFC 9207's `iss` equal to the metadata issuer) or to the CRM's own login
page; a code is issued only when the request named this app, its callback, response_type=code
and an S256 challenge, and the stored code holds that challenge. The unchanged request itself
does get a code (liveness)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tandem.crm.oauth.models import Grant
from tests.crm.oauth.conftest import CALLBACK, make_app, pkce_pair

ISSUER = "http://localhost:8001"  # the metadata `issuer` (test_rfc9700 checks it is)
KEYS = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "nonce",
    "display",
    "login_hint",
    "resource",
]
values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "é",
            "💥",
            "code",
            "token",
            "S256",
            "plain",
            "none",
            "login consent",
            "a" * 300,
            "https://evil.example/",
            CALLBACK + "#x",
            "api full",
            "openid",
        ]
    ),
)


@pytest.mark.django_db
def test_authorize_never_fails(org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    client = Client(HTTP_HOST="localhost", raise_request_exception=False)
    _, challenge = pkce_pair()
    base = {
        "response_type": "code",
        "client_id": app.key,
        "redirect_uri": CALLBACK,
        "code_challenge": challenge,
    }

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(changes=st.dictionaries(st.sampled_from(KEYS), values, max_size=4))
    @example(changes={})
    def check(changes):
        client.force_login(marketer)
        params = {**base, **changes}
        response = client.get("/services/oauth2/authorize?" + urlencode(params))
        _check_answer(response, params)
        if response.status_code == 200 and response.context and "form" in response.context:
            data = {k: v for k, v in response.context["form"].initial.items() if v is not None}
            response = client.post("/services/oauth2/authorize", {**data, "allow": "Authorize"})
            _check_answer(response, params)
        grants = list(Grant.objects.all())
        if grants:
            assert _well_formed(params, app.key), params
            assert len(grants) == 1
            assert grants[0].code_challenge == params["code_challenge"]
            assert grants[0].redirect_uri == CALLBACK
            assert grants[0].user_id == marketer.pk
        if not changes:
            assert len(grants) == 1  # the valid request gets its code
        Grant.objects.all().delete()

    check()


def _well_formed(params: dict[str, str], key: str) -> bool:
    return (
        params.get("response_type") == "code"
        and params.get("client_id") == key
        and params.get("redirect_uri") == CALLBACK
        and bool(params.get("code_challenge"))
        and params.get("code_challenge_method", "S256") == "S256"
    )


def _check_answer(response, params: dict[str, str]) -> None:
    assert response.status_code in (200, 302, 400), response.status_code
    if response.status_code != 302:
        assert "code=" not in response.get("Location", "")
        return
    location = response["Location"]
    parts = urlsplit(location)
    if not location.startswith(CALLBACK + "?"):
        # Anything else is the CRM's own login page (prompt=login), never another site.
        assert (parts.scheme, parts.netloc, parts.path) == ("", "", "/login/"), location
        return
    query = parse_qs(parts.query, keep_blank_values=True)
    assert ("code" in query) != ("error" in query), location
    assert parts.fragment == ""
    assert query["iss"] == [ISSUER]  # RFC 9207, on codes and errors alike
    if params.get("state"):
        assert query["state"] == [params["state"]]
