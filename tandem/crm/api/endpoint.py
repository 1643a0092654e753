"""The wrapper of every versioned API view: authenticate, enforce the limit, meter, shape errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from tandem.crm.api.auth import ApiPrincipal, authenticate_api_request
from tandem.crm.api.errors import ApiError, not_found
from tandem.crm.api.metering import api_usage_record, api_usage_used, counts_against_limit
from tandem.crm.api.versions import is_supported
from tandem.crm.records.errors import RecordError

ApiView = Callable[..., HttpResponse]


def json_response(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(json.dumps(body), status=status, content_type="application/json")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_body(request: HttpRequest) -> Any:
    """The parsed request body, or JSON_PARSER_ERROR.

    NaN and Infinity are not JSON and are refused; an out-of-range number such as 1e400 parses
    (as infinity) and is refused by the field it is meant for. A composite subrequest carries
    its body already parsed.
    """
    if hasattr(request, "parsed_body"):
        return request.parsed_body
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiError(413, "JSON_PARSER_ERROR", "Request body is too large") from None
    return json_parsed(raw)


def json_parsed(raw: bytes | str) -> Any:
    """JSON text parsed as `json_body` parses a request body, or JSON_PARSER_ERROR."""
    try:
        return json.loads(raw or b"null", parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        message = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ApiError(
            400, "JSON_PARSER_ERROR", f"Unexpected character in the body: {message[:200]}"
        ) from None


def set_family(request: HttpRequest, family: str) -> None:
    """Mark this call as "bulk"-style (counted even for exempt apps) or "rest"."""
    request.api_family = family  # type: ignore[attr-defined]


def _limit_exceeded() -> ApiError:
    return ApiError(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")


def api_endpoint(view: ApiView) -> ApiView:
    """Run `view(request, principal, version, …)` the Salesforce way; every call is metered."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, version: str, *args: Any, **kwargs: Any) -> HttpResponse:
        if not is_supported(version):
            return not_found().response()
        try:
            principal: ApiPrincipal = authenticate_api_request(request)
        except ApiError as error:
            return error.response()
        limit = principal.org.api_daily_limit
        used = api_usage_used(org=principal.org)
        if used >= limit:
            response = _limit_exceeded().response()
            response["Sforce-Limit-Info"] = f"api-usage={used}/{limit}"
            return response
        set_family(request, "rest")
        request.api_used_before = used  # type: ignore[attr-defined]
        response = run_view(view, request, principal, version, *args, **kwargs)
        counts = counts_against_limit(principal, family=request.api_family)  # type: ignore[attr-defined]
        api_usage_record(principal=principal, counts=counts)
        response["Sforce-Limit-Info"] = f"api-usage={used + int(counts)}/{limit}"
        return response

    wrapper.api_view = view  # type: ignore[attr-defined]  # composite subrequests call it
    return wrapper


def run_view(
    view: ApiView,
    request: HttpRequest,
    principal: ApiPrincipal,
    version: str,
    *args: Any,
    **kwargs: Any,
) -> HttpResponse:
    """Call an API view, its errors turned into Salesforce's error responses."""
    try:
        return view(request, principal, version, *args, **kwargs)
    except ApiError as error:
        return error.response()
    except RecordError as error:
        status = 404 if error.status_code == "NOT_FOUND" else 400
        return ApiError(status, error.status_code, error.message, error.fields).response()


def outside_composite(view: ApiView) -> ApiView:
    """Mark a view that a composite or batch subrequest may not call (composite itself)."""
    view.composable = False  # type: ignore[attr-defined]
    return view
