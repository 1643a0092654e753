"""Property: whatever reaches the authorize endpoint (logged in, GET then Allow), the answer is a
page or a redirect, never a 500, and a code only for a well-formed request."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.crm.oauth.models import Grant
from tests.crm.oauth.conftest import CALLBACK, make_app, pkce_pair

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
    def check(changes):
        client.force_login(marketer)
        params = {**base, **changes}
        response = client.get("/services/oauth2/authorize?" + urlencode(params))
        assert response.status_code in (200, 302, 400), response.status_code
        if response.status_code == 200 and response.context and "form" in response.context:
            data = {k: v for k, v in response.context["form"].initial.items() if v is not None}
            allowed = client.post("/services/oauth2/authorize", {**data, "allow": "Authorize"})
            assert allowed.status_code in (200, 302, 400), allowed.status_code
        Grant.objects.all().delete()

    check()
