"""The CRM's 503 when its database cannot be reached, in the words of each surface:
Salesforce's error list on the REST API, an OAuth error pair on the OAuth endpoints, a SOAP
fault on the SOAP API, the plain page elsewhere (tandem/core/unavailable.py)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse, JsonResponse

from tandem.core.unavailable import (
    MESSAGE,
    DatabaseUnavailableMiddleware,
    connection_lost,
    unavailable_page,
)
from tandem.crm.soap.envelope import ENDPOINTS
from tandem.crm.soap.faults import SoapFault

API_PREFIXES = ("/services/data/", "/services/apexrest/", "/id/")
# Machine-to-machine OAuth endpoints (the authorize page is a browser's: the plain page).
OAUTH_PREFIX, OAUTH_PAGES = "/services/oauth2/", ("/services/oauth2/authorize",)
SOAP_PREFIX = "/services/Soap/"
UNAVAILABLE_CODE = "SERVER_UNAVAILABLE"  # Salesforce's errorCode for HTTP 503


def crm_unavailable(request: HttpRequest) -> HttpResponse:
    """A 503 for `request`, in the language of the surface it reached."""
    path = request.path_info
    if path.startswith(API_PREFIXES):
        body = [{"message": MESSAGE, "errorCode": UNAVAILABLE_CODE}]
        return HttpResponse(json.dumps(body), status=503, content_type="application/json")
    if path.startswith(OAUTH_PREFIX) and not path.startswith(OAUTH_PAGES):
        pair = {"error": "temporarily_unavailable", "error_description": MESSAGE}
        response = JsonResponse(pair, status=503)
        response["Cache-Control"] = "no-store"
        return response
    if path.startswith(SOAP_PREFIX):
        kind = path.removeprefix(SOAP_PREFIX).partition("/")[0]
        endpoint = ENDPOINTS.get(kind, ENDPOINTS["u"])
        fault = SoapFault(UNAVAILABLE_CODE, MESSAGE, status=503)
        return HttpResponse(
            fault.render(endpoint.fault_namespace),
            status=503,
            content_type="text/xml; charset=utf-8",
        )
    return unavailable_page()


class CrmDatabaseUnavailableMiddleware(DatabaseUnavailableMiddleware):
    """The core middleware, answering in the CRM's surfaces' words."""

    def respond(self, request: HttpRequest) -> HttpResponse:
        return crm_unavailable(request)


def guarded(
    view: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """`view`, answering 503 when its connection broke under it (the OAuth endpoints' short
    chain has no middleware to do so)."""
    middleware = CrmDatabaseUnavailableMiddleware(view)

    def call(request: HttpRequest) -> HttpResponse:
        try:
            return view(request)
        except DatabaseError as exc:
            if not connection_lost():
                raise
            return middleware.unavailable(request, exc)

    return call
