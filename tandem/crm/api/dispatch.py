"""Composite and batch subrequests: one REST call run in-process through the view a direct call
would reach, without a second authentication or metering (the enclosing call is the one counted).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest, QueryDict
from django.urls import Resolver404, resolve

from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.endpoint import run_view, set_family
from tandem.crm.api.errors import ApiError, not_found
from tandem.crm.api.versions import is_supported

METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})
# Hop-by-hop and framing headers of the enclosing request never reach a subrequest.
SKIPPED_HEADERS = frozenset({"HTTP_CONTENT_LENGTH", "HTTP_TRANSFER_ENCODING", "HTTP_CONNECTION"})


@dataclass(frozen=True)
class SubResult:
    """What one subrequest answered: status, headers and the parsed JSON body (None if empty)."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status >= 400


def error_result(error: ApiError) -> SubResult:
    return SubResult(error.status, [error.body()])


def _meta(parent: HttpRequest, headers: dict[str, str]) -> dict[str, Any]:
    meta = {
        key: value
        for key, value in parent.META.items()
        if key.startswith("HTTP_") and key not in SKIPPED_HEADERS
    }
    meta.update(
        {"REMOTE_ADDR": parent.META.get("REMOTE_ADDR", ""), "CONTENT_TYPE": "application/json"}
    )
    for name, value in headers.items():
        meta["HTTP_" + name.upper().replace("-", "_")] = value
    return meta


def _subrequest(
    parent: HttpRequest, method: str, path: str, query: str, body: Any, headers: dict[str, str]
) -> HttpRequest:
    sub = HttpRequest()
    sub.method = method
    sub.path = sub.path_info = path
    sub.GET = QueryDict(query)
    sub.META = _meta(parent, headers)
    sub.parsed_body = body  # type: ignore[attr-defined]  # read by json_body
    sub.api_used_before = getattr(parent, "api_used_before", 0)  # type: ignore[attr-defined]
    set_family(sub, "rest")
    return sub


def _clean(url: str) -> bool:
    """No NUL and no lone surrogate (neither reaches a database)."""
    try:
        url.encode()
    except UnicodeEncodeError:
        return False
    return "\x00" not in url


def _parse(content: bytes) -> Any:
    if not content:
        return None
    try:
        return json.loads(content)
    except ValueError:
        return content.decode("utf-8", "replace")


def dispatch(
    parent: HttpRequest,
    principal: ApiPrincipal,
    *,
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> SubResult:
    """Run `method url` (a `/services/data/vNN.0/…` URL) as `principal` would directly."""
    if method not in METHODS:
        raise ApiError(400, "INVALID_API_INPUT", f"Unsupported method in subrequest: {method}")
    path, _, query = url.partition("?")
    if not path.startswith("/services/data/v") or not _clean(url):
        return error_result(not_found())
    try:
        match = resolve(path)
    except Resolver404:
        return error_result(not_found())
    view = getattr(match.func, "api_view", None)
    kwargs = dict(match.kwargs)
    version = kwargs.pop("version", "")
    if view is None or not getattr(view, "composable", True) or not is_supported(version):
        return error_result(not_found())
    sub = _subrequest(parent, method, path, query, body, headers or {})
    response = run_view(view, sub, principal, version, **kwargs)
    if getattr(sub, "api_family", "rest") == "bulk":
        set_family(parent, "bulk")
    result_headers = {k: v for k, v in response.items() if k.lower() == "location"}
    return SubResult(response.status_code, _parse(response.content), result_headers)
