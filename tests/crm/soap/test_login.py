"""SOAP login(): the envelopes of real clients log in, and the session works on the REST API."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from simple_salesforce.util import getUniqueElementValueFromXmlString

from tandem.crm.oauth.crypto import token_checksum
from tandem.crm.oauth.models import AccessToken
from tandem.crm.orgs.domains import my_domain_url
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import LoginHistory, LoginStatus, LoginType, User
from tests.crm.conftest import PASSWORD
from tests.crm.soap.conftest import (
    JSFORCE_HEADERS,
    JSFORCE_LOGOUT,
    SIMPLE_SALESFORCE_HEADERS,
    jsforce_envelope,
    post,
    simple_salesforce_envelope,
    soapenv_envelope,
)

SESSION_ID_SHAPE = re.compile(r"^00D\w{12}![\w.]+$")


def _value(response: Any, name: str) -> str | None:
    """An element's text read as simple-salesforce reads it (by its literal tag name)."""
    return getUniqueElementValueFromXmlString(response.content, name)


def _rest(session_id: str, host: str = "localhost") -> Any:
    return Client(HTTP_HOST=host).get(
        "/services/data/v59.0/limits", headers={"Authorization": f"Bearer {session_id}"}
    )


def test_simple_salesforce_envelope_logs_in_with_password_and_token(
    admin: User, security_token: str
) -> None:
    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    session_id = _value(response, "sessionId")
    assert session_id is not None
    assert SESSION_ID_SHAPE.match(session_id)
    assert session_id.startswith(admin.org_id[:15] + "!")
    # The host called (the default install's *.my.localhost names resolve in browsers only).
    assert _value(response, "serverUrl") == (
        f"http://localhost/services/Soap/u/59.0/{admin.org_id[:15]}"
    )
    assert _value(response, "userId") == admin.pk
    assert _value(response, "organizationId") == admin.org_id
    assert _rest(session_id).status_code == 200


def test_the_server_url_keeps_the_scheme_host_and_port_the_client_called(
    admin: User, security_token: str
) -> None:
    envelope = simple_salesforce_envelope(admin.username, PASSWORD + security_token)

    response = post(envelope, host="localhost:8443", secure=True, **SIMPLE_SALESFORCE_HEADERS)

    assert _value(response, "serverUrl") == (
        f"https://localhost:8443/services/Soap/u/59.0/{admin.org_id[:15]}"
    )
    assert _value(response, "metadataServerUrl") == (
        f"https://localhost:8443/services/Soap/m/59.0/{admin.org_id[:15]}"
    )


def test_the_result_carries_user_info(admin: User, security_token: str) -> None:
    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    assert _value(response, "passwordExpired") == "false"
    assert _value(response, "sandbox") == "false"
    assert _value(response, "metadataServerUrl").endswith(
        f"/services/Soap/m/59.0/{admin.org_id[:15]}"
    )  # type: ignore[union-attr]
    assert _value(response, "organizationName") == "Acme"
    assert _value(response, "userName") == admin.username
    assert _value(response, "userEmail") == admin.email
    assert _value(response, "userFullName") == admin.full_name
    assert _value(response, "profileId") == admin.profile_id
    assert _value(response, "sessionSecondsValid") == str(admin.org.session_timeout_minutes * 60)


def test_jsforce_envelope_with_empty_soapaction_logs_in(admin: User, security_token: str) -> None:
    response = post(jsforce_envelope(admin.username, PASSWORD + security_token), **JSFORCE_HEADERS)

    assert response.status_code == 200
    body = response.content.decode()
    # jsforce reads these four with regular expressions on the raw text.
    for name in ("serverUrl", "sessionId", "userId", "organizationId"):
        assert re.search(rf"<{name}>([^<]+)</{name}>", body), name
    assert "<passwordExpired>false</passwordExpired>" in body


def test_soapenv_urn_envelope_logs_in(admin: User, security_token: str) -> None:
    response = post(soapenv_envelope(admin.username, PASSWORD + security_token))

    assert response.status_code == 200
    assert _rest(_value(response, "sessionId") or "").status_code == 200


def test_login_scope_header_of_the_users_org_logs_in(admin: User, security_token: str) -> None:
    envelope = soapenv_envelope(
        admin.username, PASSWORD + security_token, organization_id=admin.org_id[:15]
    )

    response = post(envelope)

    assert response.status_code == 200


def test_login_scope_header_of_another_org_is_invalid_login(
    admin: User, security_token: str, other_org: Org
) -> None:
    envelope = soapenv_envelope(
        admin.username, PASSWORD + security_token, organization_id=other_org.pk
    )

    response = post(envelope)

    assert response.status_code == 500
    assert _value(response, "sf:exceptionCode") == "INVALID_LOGIN"
    assert not AccessToken.objects.exists()


def test_enterprise_endpoint_answers_in_its_namespace(admin: User, security_token: str) -> None:
    envelope = soapenv_envelope(
        admin.username, PASSWORD + security_token, namespace="urn:enterprise.soap.sforce.com"
    )

    response = post(envelope, path="/services/Soap/c/59.0")

    assert response.status_code == 200
    assert b'xmlns="urn:enterprise.soap.sforce.com"' in response.content
    assert _value(response, "serverUrl").endswith(f"/services/Soap/c/59.0/{admin.org_id[:15]}")  # type: ignore[union-attr]


def test_the_server_url_path_with_the_org_id_also_answers(admin: User, security_token: str) -> None:
    path = f"/services/Soap/u/59.0/{admin.org_id[:15]}"

    response = post(
        simple_salesforce_envelope(admin.username, PASSWORD + security_token), path=path
    )

    assert response.status_code == 200


def test_login_history_records_the_api_login_and_its_client(
    admin: User, security_token: str
) -> None:
    post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    row = LoginHistory.objects.get(user=admin)
    assert row.status == LoginStatus.SUCCESS
    assert row.login_type == LoginType.API
    assert row.application == "simple-salesforce"
    assert row.source_ip == "10.1.2.3"


def test_jsforce_login_history_names_no_application(admin: User, security_token: str) -> None:
    post(jsforce_envelope(admin.username, PASSWORD + security_token), **JSFORCE_HEADERS)

    assert LoginHistory.objects.get(user=admin).application == "N/A"


def test_the_session_is_an_access_token_of_no_app_lasting_the_orgs_timeout(
    admin: User, security_token: str
) -> None:
    Org.objects.filter(pk=admin.org_id).update(session_timeout_minutes=30)
    before = timezone.now()

    response = post(simple_salesforce_envelope(admin.username, PASSWORD + security_token))

    token = AccessToken.objects.get(
        token_checksum=token_checksum(_value(response, "sessionId") or "")
    )
    assert token.application_id is None
    assert token.user_id == admin.pk
    assert token.token == ""  # only the checksum is kept
    assert before + timedelta(minutes=30) <= token.expires <= timezone.now() + timedelta(minutes=30)
    assert _value(response, "sessionSecondsValid") == "1800"


def test_a_trusted_address_needs_no_security_token(admin: User) -> None:
    from tandem.crm.orgs.models import TrustedIpRange

    TrustedIpRange.objects.create(org=admin.org, start_address="10.1.2.0", end_address="10.1.2.9")

    response = post(simple_salesforce_envelope(admin.username, PASSWORD))

    assert response.status_code == 200


def test_my_domain_host_logs_in_its_own_users(admin: User, security_token: str) -> None:
    envelope = simple_salesforce_envelope(admin.username, PASSWORD + security_token)

    response = post(envelope, host="acme.my.localhost")

    assert response.status_code == 200
    # The client reached a My Domain host, so it resolves them: serverUrl is the org's My Domain.
    server_url = _value(response, "serverUrl") or ""
    assert server_url.startswith(f"{my_domain_url('acme')}/services/Soap/u/")
    assert _rest(_value(response, "sessionId") or "", host="acme.my.localhost").status_code == 200


def test_jsforce_logout_ends_the_session(admin: User, security_token: str) -> None:
    login = post(jsforce_envelope(admin.username, PASSWORD + security_token), **JSFORCE_HEADERS)
    session_id = _value(login, "sessionId") or ""

    response = post(JSFORCE_LOGOUT.format(session_id=session_id), **JSFORCE_HEADERS)

    assert response.status_code == 200
    assert b"<logoutResponse/>" in response.content
    assert _rest(session_id).status_code == 401


@pytest.mark.parametrize("session_id", ["", "00D000000000001!nothing"])
def test_logout_of_no_live_session_is_invalid_session_id(admin: User, session_id: str) -> None:
    response = post(JSFORCE_LOGOUT.format(session_id=session_id), **JSFORCE_HEADERS)

    assert response.status_code == 500
    assert b"<faultcode>sf:INVALID_SESSION_ID</faultcode>" in response.content
    assert _value(response, "sf:exceptionCode") == "INVALID_SESSION_ID"
