"""Property: whatever parameters reach the token endpoint, the answer is an OAuth error pair
(HTTP 400) or a token for a genuinely valid request, never a 500, never a token for bad input.

Two generators: random parameters (which can never form a valid request, so each must be
refused), and mutations of one valid username-password request, where the oracle knows which
are still valid: those must get a token, every other one must be refused and issue nothing."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import settings as settings_
from hypothesis import strategies as st

from tandem.crm.oauth.models import AccessToken
from tandem.crm.orgs.services import trusted_ip_range_add
from tandem.crm.users.models import User
from tests.crm.conftest import PASSWORD
from tests.crm.oauth.conftest import JWT_BEARER, make_app

KEYS = [
    "grant_type",
    "code",
    "client_id",
    "client_secret",
    "redirect_uri",
    "code_verifier",
    "refresh_token",
    "assertion",
    "username",
    "password",
    "scope",
    "token",
]
GRANTS = [
    "authorization_code",
    "refresh_token",
    "password",
    "client_credentials",
    JWT_BEARER,
    "implicit",
    "urn:ietf:params:oauth:grant-type:device_code",
    "",
]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "application/json",
    "text/plain",
    "multipart/form-data; boundary=x",
]
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


FORM = "application/x-www-form-urlencoded"
REQUIRED = ["grant_type", "client_id", "client_secret", "username", "password"]


@dataclass(frozen=True)
class Mutation:
    """One change to the valid request; `keeps_valid` is the oracle's verdict."""

    kind: str  # none, replace, drop, duplicate, content_type
    key: str = ""
    value: str = ""

    def apply(self, valid: dict[str, str]) -> tuple[list[tuple[str, str]], str]:
        pairs = list(valid.items())
        if self.kind == "replace":
            pairs = [(k, self.value if k == self.key else v) for k, v in pairs]
        elif self.kind == "drop":
            pairs = [(k, v) for k, v in pairs if k != self.key]
        elif self.kind == "duplicate":
            pairs.append((self.key, self.value))
        return pairs, (self.value if self.kind == "content_type" else FORM)

    def keeps_valid(self, valid: dict[str, str]) -> bool:
        if self.kind == "replace":
            return self.value == valid[self.key]
        return self.kind == "none"


def _mutations(valid: dict[str, str]) -> st.SearchStrategy[Mutation]:
    junk = st.one_of(values, st.sampled_from([v[:-1] for v in valid.values()]))
    key = st.sampled_from(REQUIRED)
    return st.one_of(
        st.just(Mutation("none")),
        st.builds(Mutation, st.just("replace"), key, junk),
        st.builds(Mutation, st.just("drop"), key),
        st.builds(Mutation, st.just("duplicate"), key, junk),
        st.builds(Mutation, st.just("content_type"), value=st.sampled_from(CONTENT_TYPES[1:])),
    )


@pytest.mark.django_db
def test_token_endpoint_issues_exactly_for_the_valid_requests(org, marketer: User, settings):
    # Many wrong passwords come from one address: no throttle or lockout may decide instead.
    settings.CRM_LOGIN_THROTTLE_ATTEMPTS = 10**6
    settings.CRM_LOCKOUT_ATTEMPTS = 100
    org.allow_username_password_flows = True
    org.save()
    trusted_ip_range_add(actor=None, org=org, start_address="10.0.0.0", end_address="10.0.0.255")
    app = make_app(org, ip_relaxation="BYPASS")
    client = Client(HTTP_HOST="localhost")
    valid = {
        "grant_type": "password",
        "client_id": app.key,
        "client_secret": app.secret,
        "username": marketer.username,
        "password": PASSWORD,
    }
    issued = {"valid": 0}

    @settings_(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(mutation=_mutations(valid))
    def check(mutation: Mutation) -> None:
        pairs, content_type = mutation.apply(valid)
        before = AccessToken.objects.count()
        marketer.refresh_from_db()
        assert marketer.failed_login_count < 50  # never locked out by the examples

        response = client.post(
            "/services/oauth2/token",
            urlencode(pairs),
            content_type=content_type,
            REMOTE_ADDR="10.0.0.5",
        )

        body = response.json()
        if mutation.keeps_valid(valid):
            assert response.status_code == 200, body
            assert body["token_type"] == "Bearer"
            assert AccessToken.objects.filter(user=marketer).count() == before + 1
            issued["valid"] += 1
        else:
            assert response.status_code == 400, (mutation, body)
            assert set(body) == {"error", "error_description"}
            assert AccessToken.objects.count() == before
        User.objects.filter(pk=marketer.pk).update(failed_login_count=0, locked_until=None)

    check()
    assert issued["valid"] > 0  # the valid request itself was tried, and got its token
