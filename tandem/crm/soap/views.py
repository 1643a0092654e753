"""POST /services/Soap/u|c/<version>[/<org id>]: the SOAP API's login() and logout()."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.views.decorators.csrf import csrf_exempt

from tandem.crm.oauth.identity import instance_url
from tandem.crm.soap.envelope import (
    ENDPOINTS,
    Endpoint,
    SoapCall,
    call_read,
    login_response,
    logout_response,
)
from tandem.crm.soap.faults import (
    INVALID_SESSION,
    SoapFault,
    SoapFaultError,
    client_fault,
    fault_for_login_status,
)
from tandem.crm.soap.services import SoapLoginRefusedError, SoapSession, soap_login, soap_logout
from tandem.crm.users.policies import client_ip

MAX_BODY_BYTES = 64 * 1024
OLDEST, NEWEST = 31, 64  # login() is gone from API version 65.0 on
XML_TYPES = frozenset({"", "text/xml", "application/xml", "application/soap+xml"})
XML_RESPONSE = "text/xml; charset=utf-8"
logger = logging.getLogger(__name__)


def _version(value: str) -> str:
    major, dot, minor = value.partition(".")
    if dot and minor == "0" and major.isdigit() and OLDEST <= int(major) <= NEWEST:
        return value
    raise SoapFaultError(
        SoapFault(
            "UNSUPPORTED_API_VERSION",
            f"The SOAP API answers versions {OLDEST}.0 to {NEWEST}.0 here "
            "(login() is not available from 65.0 on).",
        )
    )


def _body(request: HttpRequest) -> bytes:
    """The request body, refused when it is not XML, too large or unreadable."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type not in XML_TYPES:
        raise SoapFaultError(client_fault("Send the envelope as text/xml.", status=415))
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
        body = b"" if declared > MAX_BODY_BYTES else request.body
    except (ValueError, RequestDataTooBig, UnreadablePostError, OSError):
        raise SoapFaultError(client_fault("The request body could not be read.")) from None
    if declared > MAX_BODY_BYTES or len(body) > MAX_BODY_BYTES:
        raise SoapFaultError(client_fault("The request is larger than 64 KiB.", status=413))
    return body


def _login(request: HttpRequest, endpoint: Endpoint, version: str, call: SoapCall) -> str:
    username, password = call.arguments.get("username"), call.arguments.get("password")
    if username is None or password is None:
        raise SoapFaultError(client_fault("login() needs both a username and a password."))
    try:
        session = soap_login(
            username=username,
            password=password,
            ip=client_ip(request),
            host_org=getattr(request, "crm_org", None),
            organization_id=call.headers.get("LoginScopeHeader.organizationId"),
            client=call.headers.get("CallOptions.client"),
        )
    except SoapLoginRefusedError as refused:
        raise SoapFaultError(fault_for_login_status(refused.status)) from None
    origin = f"{request.scheme}://{request.get_host()}"  # instance_url: one the client reaches
    return _login_result(endpoint, version, session, origin)


def _login_result(endpoint: Endpoint, version: str, session: SoapSession, origin: str) -> str:
    user, org = session.user, session.user.org
    base, org15 = instance_url(org, origin), org.pk[:15]
    return login_response(
        endpoint,
        result=[
            ("metadataServerUrl", f"{base}/services/Soap/m/{version}/{org15}"),
            ("passwordExpired", False),
            ("sandbox", False),
            ("serverUrl", f"{base}/services/Soap/{endpoint.kind}/{version}/{org15}"),
            ("sessionId", session.session_id),
            ("userId", user.pk),
        ],
        user_info=[
            ("accessibilityMode", False),
            ("chatterExternal", False),
            ("currencySymbol", "$"),
            ("orgAttachmentFileSizeLimit", 5242880),
            ("orgDefaultCurrencyIsoCode", "USD"),
            ("orgDefaultCurrencyLocale", "en_US"),
            ("orgDisallowHtmlAttachments", False),
            ("orgHasPersonAccounts", False),
            ("organizationId", org.pk),
            ("organizationMultiCurrency", False),
            ("organizationName", org.name),
            ("profileId", user.profile_id),
            ("roleId", None),
            ("sessionSecondsValid", session.seconds_valid),
            ("userDefaultCurrencyIsoCode", None),
            ("userEmail", user.email),
            ("userFullName", user.full_name),
            ("userId", user.pk),
            ("userLanguage", "en_US"),
            ("userLocale", "en_US"),
            ("userName", user.username),
            ("userTimeZone", "UTC"),
            ("userType", "Standard"),
            ("userUiSkin", "Theme3"),
        ],
    )


def _logout(request: HttpRequest, endpoint: Endpoint, call: SoapCall) -> str:
    session_id = call.headers.get("SessionHeader.sessionId", "").strip()
    host_org = getattr(request, "crm_org", None)
    if not session_id or not soap_logout(session_id=session_id, host_org=host_org):
        raise SoapFaultError(INVALID_SESSION)
    return logout_response(endpoint)


def _answer(request: HttpRequest, endpoint: Endpoint, version: str) -> str:
    if request.method != "POST":
        raise SoapFaultError(client_fault("POST a SOAP envelope to this endpoint.", status=405))
    version = _version(version)
    call = call_read(_body(request), endpoint)
    if call.operation == "login":
        return _login(request, endpoint, version, call)
    return _logout(request, endpoint, call)


@csrf_exempt
def soap_view(
    request: HttpRequest, kind: str, version: str, org_id: str | None = None
) -> HttpResponse:
    """login() and logout() in a SOAP 1.1 envelope; any other request gets a fault."""
    endpoint = ENDPOINTS.get(kind, ENDPOINTS["u"])
    try:
        if kind not in ENDPOINTS:
            missing = client_fault(f"No SOAP API at /services/Soap/{kind}/.", status=404)
            raise SoapFaultError(missing)
        return HttpResponse(_answer(request, endpoint, version), content_type=XML_RESPONSE)
    except SoapFaultError as error:
        fault = error.fault
    response = HttpResponse(
        fault.render(endpoint.fault_namespace), status=fault.http_status, content_type=XML_RESPONSE
    )
    if fault.http_status == 405:
        response["Allow"] = "POST"
    # A refused login is answered with HTTP 500, as Salesforce does; it is no server error, so
    # it is logged here as what it is rather than by Django as "Internal Server Error".
    logger.info("SOAP fault %s (HTTP %s) on %s", fault.code, fault.http_status, request.path)
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response
