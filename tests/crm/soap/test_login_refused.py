"""SOAP login() refusals: Salesforce's login faults, one Login History row, no session."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from simple_salesforce.util import getUniqueElementValueFromXmlString

from tandem.crm.oauth.models import AccessToken
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import LoginHistory, LoginStatus, LoginType, User
from tandem.crm.users.services import profile_login_hours_set, profile_login_ip_range_add
from tests.crm.conftest import PASSWORD
from tests.crm.soap.conftest import post, simple_salesforce_envelope

INVALID_LOGIN = "INVALID_LOGIN: Invalid username, password, security token; or user locked out."


def _code(response: Any) -> str | None:
    return getUniqueElementValueFromXmlString(response.content, "sf:exceptionCode")


def _statuses(user: User) -> list[str]:
    return list(LoginHistory.objects.filter(user=user).values_list("status", flat=True))


def test_wrong_password_is_invalid_login_with_salesforces_fault(
    admin: User, security_token: str
) -> None:
    response = post(simple_salesforce_envelope(admin.username, "wrong" + security_token))

    assert response.status_code == 500
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content.decode()
    assert "<faultcode>sf:INVALID_LOGIN</faultcode>" in body
    assert f"<faultstring>{INVALID_LOGIN}</faultstring>" in body
    assert '<sf:LoginFault xsi:type="sf:LoginFault">' in body
    assert _code(response) == "INVALID_LOGIN"
    assert getUniqueElementValueFromXmlString(response.content, "sf:exceptionMessage") == (
        "Invalid username, password, security token; or user locked out."
    )
    assert not AccessToken.objects.exists()
    row = LoginHistory.objects.get(user=admin)
    assert (row.status, row.login_type) == (LoginStatus.INVALID_PASSWORD, LoginType.API)


def test_unknown_user_is_the_same_invalid_login_and_writes_nothing(db: None) -> None:
    response = post(simple_salesforce_envelope("nobody@acme.test", "whatever"))

    assert response.status_code == 500
    assert _code(response) == "INVALID_LOGIN"
    assert not LoginHistory.objects.exists()
    assert not AccessToken.objects.exists()


def test_missing_security_token_says_so(admin: User) -> None:
    response = post(simple_salesforce_envelope(admin.username, PASSWORD))

    assert _code(response) == "LOGIN_MUST_USE_SECURITY_TOKEN"
    assert _statuses(admin) == [LoginStatus.TOKEN_REQUIRED]
    assert not AccessToken.objects.exists()


def test_wrong_security_token_is_refused(admin: User, security_token: str) -> None:
    response = post(simple_salesforce_envelope(admin.username, PASSWORD + "x" * 24))

    assert _code(response) == "LOGIN_MUST_USE_SECURITY_TOKEN"
    assert not AccessToken.objects.exists()


def test_lockout_then_refuses_even_the_right_password(admin: User, security_token: str) -> None:
    for _ in range(settings.CRM_LOCKOUT_ATTEMPTS):
        post(simple_salesforce_envelope(admin.username, "wrong" + security_token))

    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert _code(response) == "INVALID_LOGIN"
    assert _statuses(admin)[0] == LoginStatus.LOCKED_OUT
    assert not AccessToken.objects.exists()


def test_login_hours_refuse_the_login(admin: User, security_token: str) -> None:
    profile_login_hours_set(actor=None, profile=admin.profile, hours={d: (0, 0) for d in range(7)})

    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert _code(response) == "LOGIN_DURING_RESTRICTED_TIME"
    assert _statuses(admin) == [LoginStatus.LOGIN_HOURS]
    assert not AccessToken.objects.exists()


def test_profile_ip_ranges_refuse_other_addresses(admin: User, security_token: str) -> None:
    profile_login_ip_range_add(
        actor=None, profile=admin.profile, start_address="192.0.2.1", end_address="192.0.2.9"
    )

    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert _code(response) == "LOGIN_DURING_RESTRICTED_DOMAIN"
    assert _statuses(admin) == [LoginStatus.IP_RESTRICTED]


def test_a_user_without_api_access_is_refused(admin: User, security_token: str) -> None:
    User.objects.filter(pk=admin.pk).update(is_api_enabled=False)

    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert _code(response) == "API_DISABLED_FOR_ORG"
    assert _statuses(admin) == [LoginStatus.API_DISABLED]
    assert not AccessToken.objects.exists()


def test_frozen_user_is_invalid_login(admin: User, security_token: str) -> None:
    User.objects.filter(pk=admin.pk).update(is_frozen=True)

    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert _code(response) == "INVALID_LOGIN"
    assert _statuses(admin) == [LoginStatus.FROZEN]


def test_another_orgs_my_domain_does_not_log_in_this_orgs_user(
    admin: User, security_token: str, other_org: Org
) -> None:
    envelope = simple_salesforce_envelope(admin.username, PASSWORD + security_token)

    response = post(envelope, host="globex.my.localhost")

    assert _code(response) == "INVALID_LOGIN"
    assert not LoginHistory.objects.exists()
    assert not AccessToken.objects.exists()


def test_per_address_throttle_applies(admin: User, security_token: str) -> None:
    for number in range(settings.CRM_LOGIN_THROTTLE_ATTEMPTS):
        post(simple_salesforce_envelope(f"nobody{number}@acme.test", "x"))

    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert _code(response) == "INVALID_LOGIN"
    assert _statuses(admin) == [LoginStatus.RATE_EXCEEDED]
    assert not AccessToken.objects.exists()
