"""JWT bearer assertions as the Salesforce clients build them, through the token endpoint with the
real validator: the audiences they hard-code (behind OAUTH_SALESFORCE_AUDIENCES), and every
refusal written to the named user's Login History with nothing issued."""

from __future__ import annotations

import time

import pytest

from tandem.crm.oauth.models import AccessToken
from tandem.crm.users.models import LoginHistory
from tests.crm.oauth.conftest import JWT_BEARER, LOGIN_URL, make_app, pre_authorize, token
from tests.crm.oauth.jwtkeys import assertion

ADMIN = "AdminApprovedPreAuthorized"


@pytest.fixture
def app(org, system_user):
    made = make_app(org, permitted_users=ADMIN, ip_relaxation="BYPASS")
    pre_authorize(made, system_user)
    return made


def _jwt(client, app, user, **claims):
    params = {"iss": app.key, "sub": user.username, "aud": LOGIN_URL} | claims
    return token(client, grant_type=JWT_BEARER, assertion=assertion(**params))


def _refusals(user):
    return list(
        LoginHistory.objects.filter(user=user)
        .exclude(status="Success")
        .values_list("status", flat=True)
    )


@pytest.mark.parametrize(
    "aud",
    [
        "https://login.salesforce.com",
        "https://login.salesforce.com/",
        "https://test.salesforce.com",
        "https://test.salesforce.com/",
    ],
)
def test_salesforce_audiences_are_the_login_url_when_the_setting_allows(
    crm_client, app, system_user, settings, aud
):
    settings.OAUTH_SALESFORCE_AUDIENCES = True

    status, body = _jwt(crm_client, app, system_user, aud=aud)

    assert status == 200, body
    assert AccessToken.objects.filter(user=system_user).count() == 1


@pytest.mark.parametrize("aud", ["https://login.salesforce.com", "https://test.salesforce.com/"])
def test_salesforce_audiences_are_refused_by_default(crm_client, app, system_user, aud):
    status, body = _jwt(crm_client, app, system_user, aud=aud)

    assert (status, body["error_description"]) == (400, "audience validation failed")
    assert not AccessToken.objects.exists()
    assert _refusals(system_user) == ["Failed: Audience validation failed"]


@pytest.mark.parametrize(
    "aud",
    [
        "https://login.salesforce.com.evil.example",
        "http://login.salesforce.com",
        "https://evil.example/https://login.salesforce.com",
        "https://my.salesforce.com",
    ],
)
def test_look_alikes_of_salesforce_audiences_are_refused_with_the_setting_on(
    crm_client, app, system_user, settings, aud
):
    settings.OAUTH_SALESFORCE_AUDIENCES = True

    status, body = _jwt(crm_client, app, system_user, aud=aud)

    assert (status, body["error_description"]) == (400, "audience validation failed")
    assert not AccessToken.objects.exists()


@pytest.mark.parametrize(
    ("claims", "recorded"),
    [
        pytest.param({"exp": lambda: int(time.time() * 1000) + 300}, None, id="sf CLI: exp in ms"),
        pytest.param({"exp": lambda: str(int(time.time()) + 180)}, None, id="simple-salesforce"),
        pytest.param({"aud": f"{LOGIN_URL}/"}, None, id="sf CLI: instance-url href as aud"),
        pytest.param({"lifetime": -60}, "Failed: Assertion expired", id="expired"),
        pytest.param({"key_name": "attacker"}, "Failed: Invalid assertion", id="wrongly signed"),
        pytest.param({"aud": "https://x.example"}, "Failed: Audience validation failed", id="aud"),
    ],
)
def test_assertions_from_the_clients_table(crm_client, app, system_user, claims, recorded):
    claims = {name: value() if callable(value) else value for name, value in claims.items()}

    status, body = _jwt(crm_client, app, system_user, **claims)

    if recorded is None:
        assert status == 200, body
        assert _refusals(system_user) == []
    else:
        assert status == 400
        assert body["error"] == "invalid_grant"
        assert _refusals(system_user) == [recorded]
        assert not AccessToken.objects.exists()


def test_an_unsigned_assertion_is_refused_and_recorded(crm_client, app, system_user):
    import jwt

    claims = {
        "iss": app.key,
        "sub": system_user.username,
        "aud": LOGIN_URL,
        "exp": int(time.time()) + 60,
    }
    unsigned = jwt.encode(claims, None, algorithm="none")

    status, body = token(crm_client, grant_type=JWT_BEARER, assertion=unsigned)

    assert (status, body["error_description"]) == (400, "invalid assertion")
    assert _refusals(system_user) == ["Failed: Invalid assertion"]
    assert not AccessToken.objects.exists()


def test_a_replayed_assertion_is_recorded_in_login_history(crm_client, app, system_user):
    signed = assertion(iss=app.key, sub=system_user.username, aud=LOGIN_URL)
    assert token(crm_client, grant_type=JWT_BEARER, assertion=signed)[0] == 200

    status, body = token(crm_client, grant_type=JWT_BEARER, assertion=signed)

    assert (status, body["error_description"]) == (400, "invalid assertion")
    assert _refusals(system_user) == ["Failed: Assertion replayed"]
    assert AccessToken.objects.count() == 1


def test_a_refusal_naming_nobody_writes_nothing(crm_client, app, system_user):
    status, _body = _jwt(crm_client, app, system_user, sub="nobody@acme.test", lifetime=-60)

    assert status == 400
    assert not LoginHistory.objects.exists()
