"""SOAP login fixtures: the envelopes real clients send, and a client posting them."""

from __future__ import annotations

from html import escape
from typing import Any

import pytest
from django.test import Client

from tandem.crm.users.models import User
from tandem.crm.users.services import security_token_reset

PARTNER = "/services/Soap/u/59.0"

# simple-salesforce 1.12 (login.py), security token variant: env:/urn:/n1: prefixes.
SIMPLE_SALESFORCE = """<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope
        xmlns:xsd="http://www.w3.org/2001/XMLSchema"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
        xmlns:urn="urn:partner.soap.sforce.com">
    <env:Header>
        <urn:CallOptions>
            <urn:client>simple-salesforce</urn:client>
            <urn:defaultNamespace>sf</urn:defaultNamespace>
        </urn:CallOptions>
    </env:Header>
    <env:Body>
        <n1:login xmlns:n1="urn:partner.soap.sforce.com">
            <n1:username>{username}</n1:username>
            <n1:password>{password}</n1:password>
        </n1:login>
    </env:Body>
</env:Envelope>"""
SIMPLE_SALESFORCE_HEADERS = {
    "content_type": "text/xml",
    "HTTP_CHARSET": "UTF-8",
    "HTTP_SOAPACTION": "login",
}

# simple-salesforce's organizationId variant: soapenv:/urn: prefixes and a LoginScopeHeader.
SOAPENV_URN = """<?xml version="1.0" encoding="utf-8" ?>
<soapenv:Envelope
        xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
        xmlns:urn="{namespace}">
    <soapenv:Header>
        <urn:CallOptions>
            <urn:client>simple-salesforce</urn:client>
            <urn:defaultNamespace>sf</urn:defaultNamespace>
        </urn:CallOptions>
        {scope}
    </soapenv:Header>
    <soapenv:Body>
        <urn:login>
            <urn:username>{username}</urn:username>
            <urn:password>{password}</urn:password>
        </urn:login>
    </soapenv:Body>
</soapenv:Envelope>"""

# jsforce 3 (connection.ts#loginBySoap): se: prefix, the partner namespace as the default one.
JSFORCE = (
    '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body>'
    '<login xmlns="urn:partner.soap.sforce.com"><username>{username}</username>'
    "<password>{password}</password></login></se:Body></se:Envelope>"
)
JSFORCE_HEADERS = {"content_type": "text/xml", "HTTP_SOAPACTION": '""'}

JSFORCE_LOGOUT = (
    '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header>'
    '<SessionHeader xmlns="urn:partner.soap.sforce.com"><sessionId>{session_id}</sessionId>'
    '</SessionHeader></se:Header><se:Body><logout xmlns="urn:partner.soap.sforce.com"/>'
    "</se:Body></se:Envelope>"
)


def simple_salesforce_envelope(username: str, password: str) -> str:
    return SIMPLE_SALESFORCE.format(username=escape(username), password=escape(password))


def soapenv_envelope(
    username: str,
    password: str,
    *,
    namespace: str = "urn:partner.soap.sforce.com",
    organization_id: str | None = None,
) -> str:
    scope = (
        f"<urn:LoginScopeHeader><urn:organizationId>{organization_id}</urn:organizationId>"
        "</urn:LoginScopeHeader>"
        if organization_id
        else ""
    )
    return SOAPENV_URN.format(
        namespace=namespace, scope=scope, username=escape(username), password=escape(password)
    )


def jsforce_envelope(username: str, password: str) -> str:
    return JSFORCE.format(username=escape(username), password=escape(password))


def post(body: str | bytes, path: str = PARTNER, host: str = "localhost", **headers: Any) -> Any:
    """POST an envelope as simple-salesforce does unless other headers are given."""
    client = Client(HTTP_HOST=host, REMOTE_ADDR="10.1.2.3")
    return client.generic("POST", path, body, **(headers or SIMPLE_SALESFORCE_HEADERS))


@pytest.fixture
def security_token(admin: User) -> str:
    return security_token_reset(user=admin)
