"""Salesforce REST resources under /services/data/: each view parses its request and calls one
service (`services.py`, `composite.py`, `tree.py`, record services) or selector (`selectors.py`,
`reports.py`)."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from tandem.crm.api import reports, selectors, services
from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.composite import batch_requests, batch_run, composite_requests, composite_run
from tandem.crm.api.endpoint import (
    api_endpoint,
    json_body,
    json_response,
    outside_composite,
    set_family,
)
from tandem.crm.api.errors import ApiError, not_found
from tandem.crm.api.metering import WINDOW
from tandem.crm.api.tree import tree_create, tree_parse
from tandem.crm.api.versions import versions
from tandem.crm.bulk.selectors import bulk_limits
from tandem.crm.records import services as records
from tandem.crm.records.describe import IER, REGISTRY
from tandem.crm.records.models import INDIVIDUAL_EMAIL_RESULT_PREFIX
from tandem.crm.soql.columns import column_metadata
from tandem.crm.soql.schema import ObjectDescribe

DEFAULT_BATCH = 2000
MIN_BATCH = 200


def _allow(request: HttpRequest, *methods: str) -> None:
    if request.method not in methods:
        raise ApiError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(methods)}",
        )


def _sobject(name: str) -> ObjectDescribe:
    found = REGISTRY.get(name)
    if found is None:
        raise ApiError(404, "NOT_FOUND", "The requested resource does not exist")
    return found


def _object_body(request: HttpRequest) -> dict[str, Any]:
    values = json_body(request)
    if not isinstance(values, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    return values


# --- versions and resources ------------------------------------------------------------------


@csrf_exempt
def versions_view(request: HttpRequest) -> HttpResponse:
    """GET /services/data/: the supported versions (no authentication, as in Salesforce)."""
    return json_response(versions())


@api_endpoint
def resources_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    base = f"/services/data/v{version}"
    names = (
        "sobjects",
        "query",
        "queryAll",
        "search",
        "parameterizedSearch",
        "limits",
        "composite",
        "analytics",
    )
    return json_response({name: f"{base}/{name}" for name in names})


# --- query -----------------------------------------------------------------------------------


BATCH_SIZE = re.compile(r"[+-]?[0-9]{1,30}")


def _batch_size(request: HttpRequest) -> int:
    """`Sforce-Query-Options: batchSize=N`, kept between 200 and 2,000. Salesforce does not
    promise the batch size asked for; a value that is no integer leaves the default."""
    options = request.headers.get("Sforce-Query-Options", "")
    for option in options.split(","):
        name, _, value = option.strip().partition("=")
        if name.strip() == "batchSize" and BATCH_SIZE.fullmatch(value.strip()):
            return max(MIN_BATCH, min(DEFAULT_BATCH, int(value)))
    return DEFAULT_BATCH


def _query_response(page: services.QueryPage) -> HttpResponse:
    head: dict[str, Any] = {"totalSize": page.total, "done": page.next_url is None}
    if page.next_url:
        head["nextRecordsUrl"] = page.next_url
    text = json.dumps(head)[:-1] + ', "records": ' + page.records_json + "}"
    return HttpResponse(text, content_type="application/json")


def _query(
    request: HttpRequest, principal: ApiPrincipal, version: str, *, include_deleted: bool
) -> HttpResponse:
    _allow(request, "GET")
    text = request.GET.get("q")
    if not text:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    query = services.query_bind(text)
    if request.GET.get("columns", "").lower() == "true":
        return json_response(column_metadata(query))
    page = services.query_run(
        org=principal.org,
        user=principal.user,
        text=text,
        query=query,
        version=version,
        include_deleted=include_deleted,
        batch_size=_batch_size(request),
    )
    return _query_response(page)


@api_endpoint
def query_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    return _query(request, principal, version, include_deleted=False)


@api_endpoint
def query_all_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    return _query(request, principal, version, include_deleted=True)


@api_endpoint
def query_more_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, locator: str
) -> HttpResponse:
    """GET …/query/<locator>-<position>: the next batch of a query."""
    _allow(request, "GET")
    page = services.query_more(
        org=principal.org, user=principal.user, locator=locator, version=version
    )
    return _query_response(page)


# --- sobjects --------------------------------------------------------------------------------


@api_endpoint
def sobjects_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    """describeGlobal."""
    _allow(request, "GET")
    return json_response(selectors.describe_global(version=version))


@api_endpoint
def describe_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str
) -> HttpResponse:
    _allow(request, "GET")
    return json_response(selectors.describe_sobject(_sobject(name), version=version))


def _is_ier_writer(sobject: ObjectDescribe) -> bool:
    return sobject.name == IER


@api_endpoint
def sobject_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str
) -> HttpResponse:
    """GET: basic information; POST: create a record."""
    _allow(request, "GET", "POST")
    sobject = _sobject(name)
    if request.method == "GET":
        summary = selectors.sobject_summary(sobject, version)
        return json_response({"objectDescribe": summary, "recentItems": []})
    if _is_ier_writer(sobject):
        set_family(request, "bulk")
    record = records.record_create(
        org=principal.org, owner=principal.user, sobject=sobject, values=_object_body(request)
    )
    return json_response({"id": record.pk, "success": True, "errors": []}, status=201)


def _fields_param(request: HttpRequest, sobject: ObjectDescribe) -> list[str]:
    """The `fields` parameter of a record GET: known field names, or INVALID_FIELD."""
    return _known_fields(sobject, request.GET.get("fields", "").split(","))


def _known_fields(sobject: ObjectDescribe, names: list[str]) -> list[str]:
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if sobject.field(n) is None]
    if unknown:
        raise ApiError(
            400, "INVALID_FIELD", f"No such column '{unknown[0]}' on sobject of type {sobject.name}"
        )
    return names


@api_endpoint
def record_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str, record_id: str
) -> HttpResponse:
    """GET, PATCH or DELETE one record."""
    _allow(request, "GET", "PATCH", "DELETE")
    sobject = _sobject(name)
    if request.method == "GET":
        fields = _fields_param(request, sobject)
        return json_response(
            selectors.record_detail(
                org=principal.org,
                sobject=sobject,
                record_id=record_id,
                version=version,
                fields=fields,
            )
        )
    if _is_ier_writer(sobject):
        set_family(request, "bulk")
    if request.method == "DELETE":
        records.record_delete(org=principal.org, sobject=sobject, record_id=record_id)
        return HttpResponse(status=204)
    values = _object_body(request)
    records.record_update(org=principal.org, sobject=sobject, record_id=record_id, values=values)
    return HttpResponse(status=204)


@api_endpoint
def external_id_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str, field: str, key: str
) -> HttpResponse:
    """…/sobjects/<type>/<externalIdField>/<value>: GET, upsert (PATCH) or DELETE by it."""
    _allow(request, "GET", "PATCH", "DELETE")
    sobject = _sobject(name)
    if request.method == "PATCH":
        return _upsert(request, principal, sobject, field, key)
    if request.method == "DELETE":
        if _is_ier_writer(sobject):
            set_family(request, "bulk")
        records.record_delete_by_external_id(
            org=principal.org, sobject=sobject, field_name=field, key=key
        )
        return HttpResponse(status=204)
    fields = _fields_param(request, sobject)
    return json_response(
        selectors.record_detail_by_external_id(
            org=principal.org,
            sobject=sobject,
            field_name=field,
            key=key,
            version=version,
            fields=fields,
        )
    )


def _upsert(
    request: HttpRequest, principal: ApiPrincipal, sobject: ObjectDescribe, field: str, key: str
) -> HttpResponse:
    if _is_ier_writer(sobject):
        set_family(request, "bulk")
    record, created = records.record_upsert(
        org=principal.org,
        owner=principal.user,
        sobject=sobject,
        field_name=field,
        key=key,
        values=_object_body(request),
    )
    body = {"id": record.pk, "success": True, "errors": [], "created": created}
    return json_response(body, status=201 if created else 200)


@api_endpoint
def updated_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str
) -> HttpResponse:
    """GET …/sobjects/<type>/updated/?start=&end=: ids added or changed in the range."""
    _allow(request, "GET")
    sobject = _sobject(name)
    span = selectors.replication_range(request.GET.get("start"), request.GET.get("end"))
    body = selectors.records_updated(org=principal.org, sobject=sobject, span=span)
    return json_response(body)


@api_endpoint
def deleted_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str
) -> HttpResponse:
    """GET …/sobjects/<type>/deleted/?start=&end=: records deleted in the range."""
    _allow(request, "GET")
    sobject = _sobject(name)
    span = selectors.replication_range(request.GET.get("start"), request.GET.get("end"))
    body = selectors.records_deleted(org=principal.org, sobject=sobject, span=span)
    return json_response(body)


# --- composite/sobjects ----------------------------------------------------------------------


@api_endpoint
def composite_sobjects_view(
    request: HttpRequest, principal: ApiPrincipal, version: str
) -> HttpResponse:
    """POST (create), PATCH (update) or DELETE up to 200 records, optionally all or none."""
    _allow(request, "POST", "PATCH", "DELETE")
    if request.method == "DELETE":
        items: list[Any] = [i for i in request.GET.get("ids", "").split(",") if i]
        all_or_none = request.GET.get("allOrNone", "false").lower() == "true"
    else:
        body = json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise ApiError(
                400, "JSON_PARSER_ERROR", "The body must be an object with a records list"
            )
        items, all_or_none = body["records"], bool(body.get("allOrNone", False))
    if any(
        services.record_type(item) == IER or str(item).startswith(INDIVIDUAL_EMAIL_RESULT_PREFIX)
        for item in items
    ):
        set_family(request, "bulk")
    return json_response(
        services.collection_save(
            org=principal.org,
            user=principal.user,
            method=request.method or "",
            items=items,
            all_or_none=all_or_none,
        )
    )


def _string_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ApiError(400, "JSON_PARSER_ERROR", f"'{key}' must be a list of strings")
    return list(value)


@api_endpoint
def composite_sobjects_retrieve_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str
) -> HttpResponse:
    """GET ?ids=…&fields=… or POST {"ids": […], "fields": […]}: records of one type by id."""
    _allow(request, "GET", "POST")
    sobject = _sobject(name)
    if request.method == "GET":
        ids = [i.strip() for i in request.GET.get("ids", "").split(",") if i.strip()]
        names = request.GET.get("fields", "").split(",")
    else:
        body = _object_body(request)
        ids, names = _string_list(body, "ids"), _string_list(body, "fields")
    fields = _known_fields(sobject, names)
    if not ids or not fields:
        raise ApiError(400, "MISSING_ARGUMENT", "Both ids and fields are required")
    return json_response(
        selectors.records_by_ids(
            org=principal.org,
            sobject=sobject,
            ids=ids,
            version=version,
            fields=fields,
        )
    )


@api_endpoint
def composite_sobjects_upsert_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str, field: str
) -> HttpResponse:
    """PATCH {"allOrNone", "records"}: upsert up to 200 records of one type by an external id
    field that each record carries."""
    _allow(request, "PATCH")
    sobject = _sobject(name)
    body = _object_body(request)
    if not isinstance(body.get("records"), list):
        raise ApiError(400, "JSON_PARSER_ERROR", "The body must be an object with a records list")
    if _is_ier_writer(sobject):
        set_family(request, "bulk")
    return json_response(
        services.collection_upsert(
            org=principal.org,
            user=principal.user,
            sobject=sobject,
            field_name=field,
            items=body["records"],
            all_or_none=bool(body.get("allOrNone", False)),
        )
    )


# --- composite, composite/batch, composite/tree ----------------------------------------------


@api_endpoint
@outside_composite
def composite_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    """POST up to 25 subrequests that may refer to earlier results (`@{ref.id}`)."""
    _allow(request, "POST")
    subrequests, all_or_none = composite_requests(json_body(request))
    return json_response(composite_run(request, principal, subrequests, all_or_none=all_or_none))


@api_endpoint
@outside_composite
def composite_batch_view(
    request: HttpRequest, principal: ApiPrincipal, version: str
) -> HttpResponse:
    """POST up to 25 independent subrequests."""
    _allow(request, "POST")
    items, halt_on_error = batch_requests(json_body(request))
    body = batch_run(request, principal, version, items, halt_on_error=halt_on_error)
    return json_response(body)


@api_endpoint
@outside_composite
def composite_tree_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str
) -> HttpResponse:
    """POST a tree of new records of one type with their children, all or none."""
    _allow(request, "POST")
    records = tree_parse(_sobject(name), json_body(request))
    status, body = tree_create(principal, records)
    return json_response(body, status=status)


# --- limits ----------------------------------------------------------------------------------


@api_endpoint
def limits_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    _allow(request, "GET")
    used = int(getattr(request, "api_used_before", 0)) + 1
    bulk = bulk_limits(org=principal.org, since=timezone.now() - WINDOW)
    return json_response(selectors.api_limits(org=principal.org, used=used, bulk=bulk))


@api_endpoint
def record_counts_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    _allow(request, "GET")
    text = request.GET.get("sObjects", "")
    names = [n.strip() for n in text.split(",") if n.strip()]
    return json_response(selectors.record_counts(org=principal.org, names=names))


# --- analytics/reports -----------------------------------------------------------------------


@api_endpoint
def reports_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    """The reports list (Salesforce lists the recently viewed ones)."""
    _allow(request, "GET")
    return json_response(reports.reports_list(org=principal.org, version=version))


@api_endpoint
def report_describe_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, report_id: str
) -> HttpResponse:
    _allow(request, "GET")
    return json_response(reports.report_describe(org=principal.org, report_id=report_id))


@api_endpoint
def report_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, report_id: str
) -> HttpResponse:
    """Run a report synchronously; detail rows only with `includeDetails=true`; a POST's
    `reportMetadata` (detailColumns, reportFilters) applies to this run only."""
    _allow(request, "GET", "POST")
    runtime = reports.runtime_metadata(json_body(request)) if request.method == "POST" else {}
    details = request.GET.get("includeDetails", "false").lower() == "true"
    body = reports.report_execute(
        org=principal.org,
        report_id=report_id,
        version=version,
        include_details=details,
        runtime=runtime,
    )
    return json_response(body)


@api_endpoint
def unknown_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, rest: str
) -> HttpResponse:
    raise not_found()


@csrf_exempt
def not_found_view(request: HttpRequest) -> HttpResponse:
    """A path under /services/data that names no version: NOT_FOUND, as Salesforce answers."""
    return not_found().response()
