"""Read a SOAP 1.1 request envelope and write the responses, for the partner (`u`) and
enterprise (`c`) endpoints.

The request is untrusted XML: defusedxml parses it with DTDs refused outright (SOAP 1.1 §3
forbids them in a message), so no entity is ever declared, expanded or fetched. Element
names are matched by namespace and local name, so any prefixes work (`env:`/`n1:` from
simple-salesforce, `se:` with a default namespace from jsforce, `soapenv:`/`urn:`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from tandem.crm.soap.faults import SOAP_ENV, XSI, SoapFault, SoapFaultError, client_fault

SOAP12_ENV = "http://www.w3.org/2003/05/soap-envelope"
OPERATIONS = frozenset({"login", "logout"})


@dataclass(frozen=True)
class Endpoint:
    """One of the two WSDLs' endpoints: its path letter and namespaces."""

    kind: str
    namespace: str
    fault_namespace: str


ENDPOINTS = {
    "u": Endpoint("u", "urn:partner.soap.sforce.com", "urn:fault.partner.soap.sforce.com"),
    "c": Endpoint("c", "urn:enterprise.soap.sforce.com", "urn:fault.enterprise.soap.sforce.com"),
}


@dataclass(frozen=True)
class SoapCall:
    """An operation of the body with its arguments, and the header blocks' values."""

    operation: str
    arguments: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _local(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an element tag (comments and processing instructions
    have no string tag and yield empty names)."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return namespace, name
    return "", tag


def _elements(parent: Element) -> list[Element]:
    return [child for child in parent if isinstance(child.tag, str)]


def _parse(body: bytes) -> Element:
    if not body.strip():
        raise SoapFaultError(client_fault("The request has no body: POST a SOAP envelope."))
    try:
        return fromstring(body, forbid_dtd=True)
    except DefusedXmlException:
        raise SoapFaultError(
            client_fault("A SOAP message must not contain a Document Type Declaration.")
        ) from None
    except (ParseError, ValueError, LookupError) as exc:  # LookupError: unknown encoding
        raise SoapFaultError(client_fault(f"The request is not well-formed XML: {exc}")) from None


def _envelope_parts(root: Element) -> tuple[Element | None, Element]:
    """(Header or None, Body) of a SOAP 1.1 envelope."""
    namespace, name = _local(root.tag)
    if name == "Envelope" and namespace == SOAP12_ENV:
        raise SoapFaultError(
            SoapFault("VersionMismatch", "Only SOAP 1.1 envelopes are accepted.", client=True)
        )
    if (namespace, name) != (SOAP_ENV, "Envelope"):
        raise SoapFaultError(client_fault(f"Expected a SOAP 1.1 Envelope, not <{name}>."))
    header = body = None
    for child in _elements(root):
        child_namespace, child_name = _local(child.tag)
        if child_namespace == SOAP_ENV and child_name == "Header" and header is None:
            header = child
        elif child_namespace == SOAP_ENV and child_name == "Body" and body is None:
            body = child
    if body is None:
        raise SoapFaultError(client_fault("The Envelope has no Body."))
    return header, body


def _values(parent: Element, namespace: str) -> dict[str, str]:
    """Each child's text by local name; a child named twice is refused."""
    values: dict[str, str] = {}
    for child in _elements(parent):
        child_namespace, name = _local(child.tag)
        if child_namespace not in (namespace, ""):
            continue
        if name in values:
            raise SoapFaultError(client_fault(f"Element {name} is given more than once."))
        values[name] = child.text or ""
    return values


def _header_values(header: Element | None, namespace: str) -> dict[str, str]:
    """`CallOptions.client`, `LoginScopeHeader.organizationId`, `SessionHeader.sessionId`…,
    flattened to `Block.field`."""
    found: dict[str, str] = {}
    for block in _elements(header) if header is not None else []:
        block_namespace, block_name = _local(block.tag)
        if block_namespace != namespace:
            continue  # another party's header block; none of ours says mustUnderstand
        for name, value in _values(block, namespace).items():
            found[f"{block_name}.{name}"] = value
    return found


def call_read(body: bytes, endpoint: Endpoint) -> SoapCall:
    """The call a request envelope makes, or SoapFaultError with a `Client` fault."""
    header, soap_body = _envelope_parts(_parse(body))
    operations = _elements(soap_body)
    if len(operations) != 1:
        raise SoapFaultError(client_fault("The Body must hold exactly one operation."))
    namespace, name = _local(operations[0].tag)
    if namespace != endpoint.namespace or name not in OPERATIONS:
        raise SoapFaultError(
            client_fault(
                f"No operation available for request {{{namespace}}}{name}: this endpoint "
                f"answers login and logout of {endpoint.namespace}; use the REST API under "
                "/services/data/ for everything else."
            )
        )
    return SoapCall(
        operation=name,
        arguments=_values(operations[0], endpoint.namespace),
        headers=_header_values(header, endpoint.namespace),
    )


def _envelope(endpoint: Endpoint, body: str) -> str:
    # The operation's namespace is the default one, so that every result element is
    # unprefixed and carries no attribute: simple-salesforce reads `<sessionId>` and
    # `<serverUrl>` by their literal tag text, jsforce by regular expressions.
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}" xmlns="{endpoint.namespace}" '
        f'xmlns:xsi="{XSI}"><soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>'
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _elements_xml(fields: list[tuple[str, object]]) -> str:
    """`<name>value</name>` for each pair; None is `xsi:nil`, as Salesforce writes a null."""
    return "".join(
        f'<{name} xsi:nil="true"/>' if value is None else f"<{name}>{_text(value)}</{name}>"
        for name, value in fields
    )


def login_response(
    endpoint: Endpoint, *, result: list[tuple[str, object]], user_info: list[tuple[str, object]]
) -> str:
    """`loginResponse/result` with the given fields, `userInfo` last as Salesforce orders it."""
    inner = _elements_xml(result) + f"<userInfo>{_elements_xml(user_info)}</userInfo>"
    return _envelope(endpoint, f"<loginResponse><result>{inner}</result></loginResponse>")


def logout_response(endpoint: Endpoint) -> str:
    return _envelope(endpoint, "<logoutResponse/>")
