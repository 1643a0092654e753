"""Trusted IP Ranges for OAuth Web Server Flow through the real authorize and token endpoints:
under *Relax IP restrictions for activated devices* only those addresses may use the web-server
flow, the profile's ranges are then not consulted, and every other path is unchanged."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tandem.crm.connectedapps.models import ConnectedAppIpRange
from tandem.crm.connectedapps.services import connected_app_ip_range_add
from tandem.crm.oauth.models import AccessToken, Grant
from tandem.crm.users.models import LoginHistory, ProfileLoginIpRange
from tests.crm.oauth.conftest import (
    CALLBACK,
    App,
    approve,
    authorize_code,
    exchange,
    jwt_token,
    make_app,
    pkce_pair,
    pre_authorize,
    refresh,
)

IP_PAIR = {"error": "invalid_grant", "error_description": "IP restricted or invalid login hours"}
INSIDE, OUTSIDE = "10.0.0.5", "172.16.0.9"
RANGE_TABLE = ConnectedAppIpRange._meta.db_table


def _client() -> Client:
    return Client(HTTP_HOST="localhost")


def _app(org, user, relaxation: str = "BYPASS_2FACTOR", ranges=(("10.0.0.0", "10.0.0.255"),)):
    app = make_app(org, ip_relaxation=relaxation)
    approve(app, user)
    pre_authorize(app, user)
    for start, end in ranges:
        connected_app_ip_range_add(
            actor=None, policy=app.policy, start_address=start, end_address=end
        )
    return app


def _profile_range(user, start: str = "192.168.1.1", end: str = "192.168.1.255") -> None:
    ProfileLoginIpRange.objects.create(profile=user.profile, start_address=start, end_address=end)


def _code(app: App, user) -> tuple[str, str]:
    """A fresh authorization code, as if the browser step had succeeded from a good address."""
    verifier, challenge = pkce_pair()
    raw = f"code-{timezone.now().timestamp()}"
    Grant.objects.create(
        application=app.app,
        user=user,
        code=raw,
        redirect_uri=CALLBACK,
        expires=timezone.now() + timedelta(minutes=10),
        scope="api refresh_token",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    return raw, verifier


def _statuses(user) -> list[str]:
    return list(LoginHistory.objects.filter(user=user).values_list("status", flat=True))


def test_inside_the_app_ranges_the_web_server_flow_ignores_the_profile_ranges(org, marketer):
    app = _app(org, marketer)
    _profile_range(marketer)  # INSIDE is not in the profile's ranges

    code, verifier = authorize_code(_client(), app, marketer, ip=INSIDE)
    status, body = exchange(_client(), app, code, verifier, ip=INSIDE)

    assert code is not None
    assert status == 200, body


def test_authorize_outside_the_app_ranges_is_refused_with_the_ip_pair(org, marketer):
    app = _app(org, marketer)
    client = _client()
    client.force_login(marketer)
    params = {
        "response_type": "code",
        "client_id": app.key,
        "redirect_uri": CALLBACK,
        "scope": "api",
        "code_challenge": pkce_pair()[1],
    }

    response = client.get("/services/oauth2/authorize", params, REMOTE_ADDR=OUTSIDE)

    assert response.context["pair"].as_dict() == IP_PAIR
    assert not Grant.objects.exists()
    assert _statuses(marketer) == ["Failed: IP restricted"]


def test_authorize_helper_gets_no_code_outside_the_app_ranges(org, marketer):
    app = _app(org, marketer)

    code, _ = authorize_code(_client(), app, marketer, ip=OUTSIDE)

    assert code is None
    assert not Grant.objects.exists()


def test_code_exchange_outside_the_app_ranges_is_refused_even_if_the_profile_allows(org, marketer):
    app = _app(org, marketer)
    _profile_range(marketer, "172.16.0.0", "172.16.0.255")  # OUTSIDE is in the profile's
    code, verifier = _code(app, marketer)

    status, body = exchange(_client(), app, code, verifier, ip=OUTSIDE)

    assert (status, body) == (400, IP_PAIR)
    assert not AccessToken.objects.exists()
    assert _statuses(marketer) == ["Failed: IP restricted"]


def test_without_app_ranges_the_web_server_flow_stays_relaxed(org, marketer):
    app = _app(org, marketer, ranges=())
    _profile_range(marketer)

    code, verifier = authorize_code(_client(), app, marketer, ip=OUTSIDE)
    status, body = exchange(_client(), app, code, verifier, ip=OUTSIDE)

    assert status == 200, body


def test_ranges_of_the_app_in_another_org_do_not_count(org, other_org, marketer):
    app = _app(org, marketer, ranges=())
    ConnectedAppIpRange.objects.create(
        app=app.app, org=other_org, start_address="10.9.9.9", end_address="10.9.9.9"
    )

    code, verifier = authorize_code(_client(), app, marketer, ip=OUTSIDE)
    status, body = exchange(_client(), app, code, verifier, ip=OUTSIDE)

    assert status == 200, body


@pytest.mark.parametrize("relaxation", ["ENFORCE", "ENFORCE_RELAXREFRESH", "BYPASS"])
def test_other_relaxations_ignore_the_app_ranges(org, marketer, relaxation):
    app = _app(org, marketer, relaxation=relaxation)

    code, verifier = authorize_code(_client(), app, marketer, ip=OUTSIDE)
    status, body = exchange(_client(), app, code, verifier, ip=OUTSIDE)

    assert status == 200, body


def test_refresh_and_jwt_still_enforce_the_profile_ranges_inside_the_app_ranges(org, marketer):
    app = _app(org, marketer)
    code, verifier = authorize_code(_client(), app, marketer, ip=INSIDE)
    _, issued = exchange(_client(), app, code, verifier, ip=INSIDE)
    _profile_range(marketer)
    tokens_before = AccessToken.objects.count()

    refreshed = refresh(_client(), app, issued["refresh_token"], ip=INSIDE)
    bearer = jwt_token(_client(), app, marketer, ip=INSIDE)

    assert refreshed == (400, IP_PAIR)
    assert bearer == (400, IP_PAIR)
    assert AccessToken.objects.count() == tokens_before
    assert _statuses(marketer).count("Failed: IP restricted") == 2


def test_ipv6_client_inside_an_ipv6_range(org, marketer):
    app = _app(org, marketer, ranges=(("2001:db8::", "2001:db8::ffff"),))

    code, verifier = authorize_code(_client(), app, marketer, ip="2001:db8::42")
    status, body = exchange(_client(), app, code, verifier, ip="2001:db8::42")

    assert status == 200, body


def _exchange_via(app: App, code: str, verifier: str, remote: str, forwarded: str):
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": app.key,
        "client_secret": app.secret,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    response = _client().post(
        "/services/oauth2/token",
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR=remote,
        HTTP_X_FORWARDED_FOR=forwarded,
    )
    return response.status_code, response.json()


def test_forwarded_for_is_ignored_without_a_trusted_proxy(org, marketer):
    app = _app(org, marketer)
    code, verifier = _code(app, marketer)

    result = _exchange_via(app, code, verifier, remote=OUTSIDE, forwarded=INSIDE)

    assert result == (400, IP_PAIR)
    assert not AccessToken.objects.exists()


def test_forwarded_for_from_a_trusted_proxy_is_the_client(org, marketer, settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    app = _app(org, marketer)
    code, verifier = _code(app, marketer)

    status, body = _exchange_via(app, code, verifier, remote="127.0.0.1", forwarded=INSIDE)

    assert status == 200, body


def _range_queries(queries) -> list[str]:
    return [q["sql"] for q in queries if RANGE_TABLE in q["sql"]]


def test_jwt_grant_never_reads_the_app_ranges(org, marketer):
    app = _app(org, marketer)

    with CaptureQueriesContext(connection) as captured:
        status, body = jwt_token(_client(), app, marketer, ip=INSIDE)

    assert status == 200, body
    assert _range_queries(captured.captured_queries) == []


def test_code_exchange_reads_the_app_ranges_in_one_query(org, marketer):
    app = _app(org, marketer, ranges=(("10.0.0.0", "10.0.0.255"), ("10.1.0.0", "10.1.0.255")))
    code, verifier = _code(app, marketer)

    with CaptureQueriesContext(connection) as captured:
        status, body = exchange(_client(), app, code, verifier, ip=INSIDE)

    assert status == 200, body
    assert len(_range_queries(captured.captured_queries)) == 1


def test_other_relaxations_never_read_the_app_ranges(org, marketer):
    app = _app(org, marketer, relaxation="ENFORCE")
    code, verifier = _code(app, marketer)

    with CaptureQueriesContext(connection) as captured:
        status, body = exchange(_client(), app, code, verifier, ip=INSIDE)

    assert status == 200, body
    assert _range_queries(captured.captured_queries) == []
