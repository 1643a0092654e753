"""SOSL over REST: `search?q=FIND {…}` and `parameterizedSearch` (GET parameters or a POST body).

Both answer `{"searchRecords": [...]}`: each returned object's records in RETURNING order, each
with its `attributes`, capped by the overall limit. The search itself is domain code
(`tandem.crm.soql.sosl`); each object's records are an ordinary org-scoped query.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.endpoint import api_endpoint, json_body, json_response
from tandem.crm.api.errors import ApiError
from tandem.crm.api.serialize import query_records
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.selectors import record_queryset
from tandem.crm.soql import SoqlError
from tandem.crm.soql.bind import BoundQuery
from tandem.crm.soql.orm import page_rows
from tandem.crm.soql.sosl import (
    MAX_LIMIT,
    SearchSpec,
    bind_search,
    parameterized,
    parse_and_bind,
    search_limit,
)


def search_records(
    principal: ApiPrincipal, queries: list[BoundQuery], limit: int, version: str
) -> list[dict[str, Any]]:
    """The records of each object's query in turn, `limit` in all, as Salesforce JSON."""
    found: list[dict[str, Any]] = []
    for query in queries:
        remaining = limit - len(found)
        if remaining <= 0:
            break
        queryset = record_queryset(org=principal.org, sobject=query.sobject)
        rows = page_rows(query, queryset, position=0, size=remaining, text_datetimes=True)
        found.extend(query_records(query, rows, version))
    return found


def _salesforce_error(error: SoqlError) -> ApiError:
    return ApiError(400, error.error_code, error.message)


def _allow(request: HttpRequest, *methods: str) -> None:
    if request.method not in methods:
        allowed = ",".join(methods)
        message = f"HTTP Method '{request.method}' not allowed. Allowed are {allowed}"
        raise ApiError(405, "METHOD_NOT_ALLOWED", message)


@api_endpoint
def search_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    """GET …/search?q=FIND {term} …: a SOSL search."""
    _allow(request, "GET")
    text = request.GET.get("q", "")
    if not text.strip():
        message = "No search term found. The search term must be enclosed in braces."
        raise ApiError(400, "MALFORMED_SEARCH", message)
    try:
        queries, limit = parse_and_bind(text, REGISTRY, today=timezone.now().date())
    except SoqlError as error:
        raise _salesforce_error(error) from None
    return json_response({"searchRecords": search_records(principal, queries, limit, version)})


# --- parameterizedSearch -------------------------------------------------------------------


def _number(value: Any, name: str) -> int | None:
    if value is None or value == "":
        return None
    text = str(value)
    if isinstance(value, bool) or not (text.isascii() and text.isdigit()) or len(text) > 9:
        raise ApiError(400, "INVALID_SEARCH", f"{name} must be a whole number: {text[:40]}")
    return int(text)


def _names(value: Any, name: str) -> tuple[str, ...]:
    """A field list: a JSON list of strings, or comma-separated text."""
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(n.strip() for n in value.split(",") if n.strip())
    if isinstance(value, list) and all(isinstance(n, str) for n in value):
        return tuple(n.strip() for n in value if n.strip())
    raise ApiError(400, "INVALID_SEARCH", f"{name} must be a list of field names")


def _specs_from_query(request: HttpRequest) -> list[SearchSpec]:
    fields = _names(request.GET.get("fields"), "fields")
    return [
        SearchSpec(
            name=name,
            fields=_names(request.GET.get(f"{name}.fields"), "fields") or fields,
            limit=_number(request.GET.get(f"{name}.limit"), f"{name}.limit")
            or _number(request.GET.get("defaultLimit"), "defaultLimit"),
        )
        for name in request.GET.getlist("sobject")
    ]


def _spec_from_body(item: Any, fields: tuple[str, ...], default_limit: int | None) -> SearchSpec:
    if not isinstance(item, dict) or not isinstance(item.get("name"), str):
        raise ApiError(400, "INVALID_SEARCH", "Each of sobjects must be an object with a name")
    where = item.get("where")
    if where is not None and not isinstance(where, str):
        raise ApiError(400, "INVALID_SEARCH", "where must be text")
    return SearchSpec(
        name=item["name"],
        fields=_names(item.get("fields"), "fields") or fields,
        limit=_number(item.get("limit"), "limit") or default_limit,
        where=where,
    )


def _body_request(request: HttpRequest) -> tuple[Any, str, list[SearchSpec], int | None]:
    body = json_body(request)
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    fields = _names(body.get("fields"), "fields")
    default_limit = _number(body.get("defaultLimit"), "defaultLimit")
    items = body.get("sobjects") or []
    if not isinstance(items, list):
        raise ApiError(400, "INVALID_SEARCH", "sobjects must be a list")
    specs = [_spec_from_body(item, fields, default_limit) for item in items]
    return (
        body.get("q"),
        str(body.get("in") or "ALL"),
        specs,
        _number(body.get("overallLimit"), "overallLimit"),
    )


@api_endpoint
def parameterized_search_view(
    request: HttpRequest, principal: ApiPrincipal, version: str
) -> HttpResponse:
    """GET (parameters) or POST (JSON body) …/parameterizedSearch: a search without SOSL text."""
    _allow(request, "GET", "POST")
    if request.method == "POST":
        term, scope, specs, limit = _body_request(request)
    else:
        term, scope = request.GET.get("q"), request.GET.get("in", "ALL")
        specs, limit = (
            _specs_from_query(request),
            _number(request.GET.get("overallLimit"), "overallLimit"),
        )
    if not isinstance(term, str) or not term.strip():
        raise ApiError(400, "MALFORMED_SEARCH", "No search term found: q is required")
    try:
        search = parameterized(term, scope=scope, specs=specs, limit=limit)
        queries = bind_search(search, REGISTRY, today=timezone.now().date())
    except SoqlError as error:
        raise _salesforce_error(error) from None
    total = min(search_limit(search), MAX_LIMIT)
    return json_response({"searchRecords": search_records(principal, queries, total, version)})
