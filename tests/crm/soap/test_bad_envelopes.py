"""What is not a login call gets a SOAP fault (never a traceback or a 5xx) and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from tandem.crm.oauth.models import AccessToken
from tandem.crm.users.models import LoginHistory, User
from tests.crm.conftest import PASSWORD
from tests.crm.soap.conftest import (
    PARTNER,
    SIMPLE_SALESFORCE_HEADERS,
    post,
    simple_salesforce_envelope,
)

ENV = "http://schemas.xmlsoap.org/soap/envelope/"
LOGIN = (
    f'<e:Envelope xmlns:e="{ENV}"><e:Body><login xmlns="urn:partner.soap.sforce.com">'
    "<username>admin@acme.test</username><password>{password}</password></login>"
    "</e:Body></e:Envelope>"
)


@pytest.fixture(autouse=True)
def nothing_written(admin: User, security_token: str) -> Iterator[None]:
    """Every request here leaves no Login History row, no session and no failure count."""
    yield
    assert not LoginHistory.objects.exists()
    assert not AccessToken.objects.exists()
    admin.refresh_from_db()
    assert admin.failed_login_count == 0
    assert admin.locked_until is None


def _client_fault(response: Any, status: int = 400, code: str = "Client") -> str:
    assert response.status_code == status
    assert response["Content-Type"] == "text/xml; charset=utf-8"
    body = response.content.decode()
    assert f"<faultcode>soapenv:{code}</faultcode>" in body
    assert "Traceback" not in body
    return body


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   ",
        b"<not xml",
        b"<?xml version='1.0'?><Envelope/>",
        b'{"username": "admin@acme.test"}',
        f'<e:Envelope xmlns:e="{ENV}"><e:Header/></e:Envelope>'.encode(),
        f'<e:Envelope xmlns:e="{ENV}"><e:Body/></e:Envelope>'.encode(),
        f'<e:Envelope xmlns:e="{ENV}"><e:Body><a/><b/></e:Body></e:Envelope>'.encode(),
        LOGIN.replace("</username>", "</username>\x00").encode(),
        LOGIN.replace("</username>", "&#0;</username>").encode(),
        LOGIN.encode()[:-20],
        b"\xff\xfe<\x00x\x00",
        b'<?xml version="1.0" encoding="no-such-encoding"?><x/>',
        b'<?xml version="1.0" encoding="utf-8"?>\xc3\x28',
        LOGIN.format(password="x").encode() + b"<trailing/>",
    ],
    ids=[
        "empty",
        "blank",
        "unclosed",
        "no-namespace",
        "json",
        "no-body",
        "empty-body",
        "two-operations",
        "nul-byte",
        "nul-reference",
        "truncated",
        "utf16-garbage",
        "unknown-encoding",
        "invalid-utf8",
        "two-roots",
    ],
)
def test_malformed_envelopes_get_a_client_fault(body: bytes) -> None:
    _client_fault(post(body))


def test_soap_1_2_envelope_is_a_version_mismatch() -> None:
    body = LOGIN.format(password="x").replace(ENV, "http://www.w3.org/2003/05/soap-envelope")

    _client_fault(post(body), code="VersionMismatch")


@pytest.mark.parametrize(
    "operation",
    [
        '<query xmlns="urn:partner.soap.sforce.com"><queryString>SELECT Id FROM Account'
        "</queryString></query>",
        '<login xmlns="urn:enterprise.soap.sforce.com"><username>a</username>'
        "<password>b</password></login>",
        "<login><username>a</username><password>b</password></login>",
    ],
    ids=["other-operation", "other-namespace", "no-namespace"],
)
def test_an_operation_not_served_here_is_named_in_the_fault(operation: str) -> None:
    body = f'<e:Envelope xmlns:e="{ENV}"><e:Body>{operation}</e:Body></e:Envelope>'

    text = _client_fault(post(body))

    assert "No operation available for request" in text


@pytest.mark.parametrize(
    "arguments",
    [
        "<username>admin@acme.test</username>",
        "<password>x</password>",
        "",
        "<username>admin@acme.test</username><username>b</username><password>x</password>",
    ],
    ids=["no-password", "no-username", "nothing", "username-twice"],
)
def test_login_without_exactly_one_username_and_password_is_a_client_fault(
    arguments: str,
) -> None:
    body = (
        f'<e:Envelope xmlns:e="{ENV}"><e:Body><login xmlns="urn:partner.soap.sforce.com">'
        f"{arguments}</login></e:Body></e:Envelope>"
    )

    _client_fault(post(body))


def test_external_entities_are_refused_and_never_read(admin: User) -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE e [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
        + LOGIN.format(password="&secret;")
    )

    text = _client_fault(post(body))

    assert "Document Type Declaration" in text
    assert "root:" not in text


def test_billion_laughs_is_refused_before_any_expansion() -> None:
    entities = '<!ENTITY a0 "lol">' + "".join(
        f'<!ENTITY a{n} "{f"&a{n - 1};" * 10}">' for n in range(1, 10)
    )
    body = f'<?xml version="1.0"?><!DOCTYPE e [{entities}]>' + LOGIN.format(password="&a9;")

    text = _client_fault(post(body))

    assert "Document Type Declaration" in text
    assert "lollol" not in text


def test_an_internal_dtd_without_entities_is_refused_too() -> None:
    body = '<?xml version="1.0"?><!DOCTYPE e>' + LOGIN.format(password="x")

    _client_fault(post(body))


def test_get_is_a_client_fault_naming_post() -> None:
    response = Client(HTTP_HOST="localhost").get(PARTNER)

    _client_fault(response, status=405)
    assert response["Allow"] == "POST"


def test_a_json_content_type_is_refused() -> None:
    response = post(LOGIN.format(password="x"), content_type="application/json")

    _client_fault(response, status=415)


def test_a_body_over_64_kib_is_refused_unread() -> None:
    body = LOGIN.format(password="x" * 70_000)

    _client_fault(post(body), status=413)


def test_a_huge_declared_length_is_refused() -> None:
    response = post(b"<x/>", **SIMPLE_SALESFORCE_HEADERS, CONTENT_LENGTH="99999999999")

    _client_fault(response, status=413)


@pytest.mark.parametrize(
    "version", ["20.0", "65.0", "59.1", "v59.0", "x", "99999999999999999999.0"]
)
def test_versions_without_login_are_unsupported_api_version(version: str) -> None:
    response = post(
        simple_salesforce_envelope("admin@acme.test", PASSWORD), path=f"/services/Soap/u/{version}"
    )

    assert response.status_code == 500
    assert b"<faultcode>sf:UNSUPPORTED_API_VERSION</faultcode>" in response.content


@pytest.mark.parametrize("kind", ["m", "T", "s"])
def test_other_soap_apis_are_a_not_found_fault(kind: str) -> None:
    response = post(
        simple_salesforce_envelope("admin@acme.test", PASSWORD), path=f"/services/Soap/{kind}/59.0"
    )

    _client_fault(response, status=404)


def test_deeply_nested_xml_is_a_fault_not_a_crash() -> None:
    depth = 5000
    body = (
        f'<e:Envelope xmlns:e="{ENV}"><e:Body><login xmlns="urn:partner.soap.sforce.com">'
        f"<username>{'<x>' * depth}{'</x>' * depth}</username></login></e:Body></e:Envelope>"
    )

    _client_fault(post(body))
