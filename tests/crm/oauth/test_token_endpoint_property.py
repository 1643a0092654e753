"""Property: whatever parameters reach the token endpoint, the answer is an OAuth error pair
(HTTP 400) or a token for a genuinely valid request, never a 500, never a token for bad input."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.crm.oauth.models import AccessToken
from tests.crm.oauth.conftest import JWT_BEARER, make_app

KEYS = ["grant_type", "code", "client_id", "client_secret", "redirect_uri", "code_verifier",
        "refresh_token", "assertion", "username", "password", "scope", "token"]  # fmt: skip
GRANTS = ["authorization_code", "refresh_token", "password", "client_credentials", JWT_BEARER,
          "implicit", "urn:ietf:params:oauth:grant-type:device_code", ""]  # fmt: skip
CONTENT_TYPES = ["application/x-www-form-urlencoded", "application/json", "text/plain",
                 "multipart/form-data; boundary=x"]  # fmt: skip
values = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=20),
    st.sampled_from(["\x00", "a\x00b", "é", "💥", " ", "%00", "null", "[]", "{}", "a" * 5000]),
)


def _params(app_key: str, secret: str) -> st.SearchStrategy[list[tuple[str, str]]]:
    pair = st.tuples(st.sampled_from(KEYS), values)
    grant = st.tuples(st.just("grant_type"), st.sampled_from(GRANTS))
    client = st.tuples(st.just("client_id"), st.sampled_from([app_key, "nope", ""]))
    return st.lists(st.one_of(pair, grant, client, st.just(("client_secret", secret))), max_size=10)


@pytest.mark.django_db
def test_token_endpoint_never_fails_and_never_issues_for_bad_input(org):
    app = make_app(org)
    client = Client(HTTP_HOST="localhost")

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(params=_params(app.key, app.secret), content_type=st.sampled_from(CONTENT_TYPES))
    def check(params, content_type):
        response = client.post(
            "/services/oauth2/token", urlencode(params), content_type=content_type
        )

        assert response.status_code == 400, response.content
        body = response.json()
        assert set(body) == {"error", "error_description"}
        assert not AccessToken.objects.exists()

    check()
