"""Salesforce REST resources under /services/data/: query, sobjects, composite, limits, reports."""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from tandem.crm.api import pgjson, reports, selectors
from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.composite import batch_requests, batch_run, composite_requests, composite_run
from tandem.crm.api.db import relaxed_commit
from tandem.crm.api.endpoint import (
    api_endpoint,
    json_body,
    json_response,
    outside_composite,
    set_family,
)
from tandem.crm.api.errors import ApiError, not_found
from tandem.crm.api.metering import WINDOW, api_usage_by_app
from tandem.crm.api.models import QueryLocator
from tandem.crm.api.serialize import query_records, record_json
from tandem.crm.api.tree import tree_create, tree_parse
from tandem.crm.api.versions import versions
from tandem.crm.records import services
from tandem.crm.records.describe import IER, REGISTRY
from tandem.crm.records.errors import RecordError
from tandem.crm.records.models import INDIVIDUAL_EMAIL_RESULT_PREFIX
from tandem.crm.records.selectors import record_get, record_queryset
from tandem.crm.soql import SoqlError, parse
from tandem.crm.soql.bind import BoundQuery, bind
from tandem.crm.soql.columns import column_metadata
from tandem.crm.soql.orm import page_rows, total_size
from tandem.crm.soql.schema import ObjectDescribe

DEFAULT_BATCH = 2000
MIN_BATCH = 200
LOCATOR_LIFETIME = dt.timedelta(minutes=15)
MAX_COMPOSITE = 200


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


# --- versions and resources ------------------------------------------------------------------


@csrf_exempt
def versions_view(request: HttpRequest) -> HttpResponse:
    """GET /services/data/: the supported versions (no authentication, as in Salesforce)."""
    return json_response(versions())


@api_endpoint
def resources_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    base = f"/services/data/v{version}"
    names = ("sobjects", "query", "queryAll", "limits", "composite", "analytics")
    return json_response({name: f"{base}/{name}" for name in names})


# --- query -----------------------------------------------------------------------------------


def _bind(text: str) -> BoundQuery:
    try:
        return bind(parse(text), REGISTRY, today=timezone.now().date())
    except SoqlError as error:
        raise ApiError(400, error.error_code, error.message) from None


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


@dataclass(frozen=True)
class _Batch:
    """One batch of a query: how many records, the last one's key, the records as JSON text."""

    count: int
    last_pk: str | None
    records_json: str


def _fetch(
    query: BoundQuery, queryset: Any, version: str, *, position: int, size: int,
    after_pk: str | None = None,
) -> _Batch:  # fmt: skip
    """A batch, its JSON built by PostgreSQL where available, else in Python."""
    if pgjson.is_available():
        found = pgjson.page_json(query, queryset, version=version, position=position, size=size,
                                 after_pk=after_pk)  # fmt: skip
        text = "[" + ",".join(record for _, record in found) + "]"
        return _Batch(len(found), found[-1][0] if found else None, text)
    rows = page_rows(query, queryset, position=position, size=size, after_pk=after_pk,
                     text_datetimes=True)  # fmt: skip
    records = json.dumps(query_records(query, rows, version))
    return _Batch(len(rows), rows[-1][0] if rows else None, records)


def _query_response(batch: _Batch, total: int, next_url: str | None) -> HttpResponse:
    head: dict[str, Any] = {"totalSize": total, "done": next_url is None}
    if next_url:
        head["nextRecordsUrl"] = next_url
    text = json.dumps(head)[:-1] + ', "records": ' + batch.records_json + "}"
    return HttpResponse(text, content_type="application/json")


def _query(
    request: HttpRequest, principal: ApiPrincipal, version: str, *, include_deleted: bool
) -> HttpResponse:
    _allow(request, "GET")
    text = request.GET.get("q")
    if not text:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    query = _bind(text)
    if request.GET.get("columns", "").lower() == "true":
        return json_response(column_metadata(query))
    queryset = record_queryset(
        org=principal.org, sobject=query.sobject, include_deleted=include_deleted
    )
    total = total_size(query, queryset)
    if query.is_count:
        return json_response({"totalSize": total, "done": True, "records": []})
    batch = _batch_size(request)
    found = _fetch(query, queryset, version, position=0, size=batch)
    next_url = None
    if found.count < total and found.last_pk:
        locator = QueryLocator.objects.create(
            org=principal.org, user=principal.user, soql=text, include_deleted=include_deleted,
            batch_size=batch, total_size=total, expires_at=timezone.now() + LOCATOR_LIFETIME,
            cursor_position=found.count, cursor_pk=found.last_pk,
        )  # fmt: skip
        next_url = f"/services/data/v{version}/query/{locator.id}-{found.count}"
    return _query_response(found, total, next_url)


@api_endpoint
def query_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    return _query(request, principal, version, include_deleted=False)


@api_endpoint
def query_all_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    return _query(request, principal, version, include_deleted=True)


def _invalid_locator() -> ApiError:
    return ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


@api_endpoint
def query_more_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, locator: str
) -> HttpResponse:
    """GET …/query/<locator>-<position>: the next batch of a query."""
    _allow(request, "GET")
    locator_id, _, position_text = locator.partition("-")
    now = timezone.now()
    found = QueryLocator.objects.filter(
        pk=locator_id, org=principal.org, user=principal.user, expires_at__gt=now
    ).first()
    if found is None or not position_text.isdigit() or int(position_text) >= found.total_size:
        raise _invalid_locator()
    position = int(position_text)
    query = _bind(found.soql)
    queryset = record_queryset(
        org=principal.org, sobject=query.sobject, include_deleted=found.include_deleted
    )
    after = found.cursor_pk if position == found.cursor_position and found.cursor_pk else None
    batch = _fetch(query, queryset, version, position=position, size=found.batch_size,
                   after_pk=after)  # fmt: skip
    end = position + batch.count
    next_url = None
    if batch.last_pk and end < found.total_size:
        with relaxed_commit():
            QueryLocator.objects.filter(pk=found.pk).update(
                cursor_position=end, cursor_pk=batch.last_pk, expires_at=now + LOCATOR_LIFETIME
            )
        next_url = f"/services/data/v{version}/query/{found.pk}-{end}"
    return _query_response(batch, found.total_size, next_url)


# --- sobjects --------------------------------------------------------------------------------


def _urls(sobject: ObjectDescribe, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def _object_summary(sobject: ObjectDescribe, version: str) -> dict[str, Any]:
    return {
        "name": sobject.name, "label": sobject.label, "labelPlural": sobject.label_plural,
        "keyPrefix": sobject.key_prefix, "custom": sobject.name.endswith("__c"),
        "queryable": True, "retrieveable": True, "searchable": sobject.searchable,
        "createable": sobject.createable, "updateable": sobject.updateable,
        "deletable": sobject.deletable, "replicateable": True,
        "urls": _urls(sobject, version),
    }  # fmt: skip


def _field_describe(field: Any) -> dict[str, Any]:
    return {
        "name": field.name, "label": field.label, "type": field.type.value,
        "length": field.length, "nillable": field.nillable, "createable": field.createable,
        "updateable": field.updateable, "filterable": True, "sortable": True,
        "externalId": field.external_id, "idLookup": field.external_id or field.name == "Id",
        "custom": field.name.endswith("__c"),
        "referenceTo": [field.reference_to] if field.reference_to else [],
        "relationshipName": field.relationship_name,
        "defaultedOnCreate": field.default_on_create,
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": False}
            for v in field.picklist_values
        ],
    }  # fmt: skip


@api_endpoint
def sobjects_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    """describeGlobal."""
    _allow(request, "GET")
    return json_response({
        "encoding": "UTF-8", "maxBatchSize": MAX_COMPOSITE,
        "sobjects": [_object_summary(o, version) for o in REGISTRY.all()],
    })  # fmt: skip


@api_endpoint
def describe_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, name: str
) -> HttpResponse:
    _allow(request, "GET")
    sobject = _sobject(name)
    body = _object_summary(sobject, version)
    body["fields"] = [_field_describe(f) for f in sobject.fields]
    return json_response(body)


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
        return json_response(
            {"objectDescribe": _object_summary(sobject, version), "recentItems": []}
        )
    if _is_ier_writer(sobject):
        set_family(request, "bulk")
    values = json_body(request)
    if not isinstance(values, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    record = services.record_create(
        org=principal.org, owner=principal.user, sobject=sobject, values=values
    )
    return json_response({"id": record.pk, "success": True, "errors": []}, status=201)


def _fields_param(request: HttpRequest, sobject: ObjectDescribe) -> list[str]:
    """The `fields` parameter of a record GET: known field names, or INVALID_FIELD."""
    names = [n.strip() for n in request.GET.get("fields", "").split(",") if n.strip()]
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
        record = record_get(org=principal.org, sobject=sobject, record_id=record_id)
        return json_response(record_json(sobject, record, version, _fields_param(request, sobject)))
    if _is_ier_writer(sobject):
        set_family(request, "bulk")
    if request.method == "DELETE":
        services.record_delete(org=principal.org, sobject=sobject, record_id=record_id)
        return HttpResponse(status=204)
    values = json_body(request)
    if not isinstance(values, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    services.record_update(org=principal.org, sobject=sobject, record_id=record_id, values=values)
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
    found = selectors.record_by_external_id(
        org=principal.org, sobject=sobject, field_name=field, key=key
    )
    if request.method == "DELETE":
        if _is_ier_writer(sobject):
            set_family(request, "bulk")
        services.record_delete(org=principal.org, sobject=sobject, record_id=found.pk)
        return HttpResponse(status=204)
    return json_response(record_json(sobject, found, version, _fields_param(request, sobject)))


def _upsert(
    request: HttpRequest, principal: ApiPrincipal, sobject: ObjectDescribe, field: str, key: str
) -> HttpResponse:
    if _is_ier_writer(sobject):
        set_family(request, "bulk")
    values = json_body(request)
    if not isinstance(values, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    record, created = services.record_upsert(
        org=principal.org, owner=principal.user, sobject=sobject, field_name=field, key=key,
        values=values,
    )  # fmt: skip
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


def _record_error(error: RecordError) -> dict[str, Any]:
    return {"statusCode": error.status_code, "message": error.message, "fields": error.fields}


ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using AllOrNone header",  # noqa: E501
    "fields": [],
}


class _Rollback(Exception):
    pass


def _record_type(item: Any) -> str | None:
    """The `attributes.type` of a composite record, if it has one."""
    attributes = item.get("attributes") if isinstance(item, dict) else None
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    return kind if isinstance(kind, str) else None


def _composite_one(
    principal: ApiPrincipal, method: str, item: Any
) -> tuple[str | None, RecordError | None]:
    if not isinstance(item, dict):
        return None, RecordError("INVALID_FIELD", "Each record must be a JSON object")
    kind = _record_type(item)
    sobject = REGISTRY.get(kind or "")
    if sobject is None:
        return None, RecordError("INVALID_TYPE", f"sObject type '{kind}' is not supported.")
    values = {k: v for k, v in item.items() if k != "attributes"}
    try:
        if method == "POST":
            if "Id" in values or "id" in values:
                raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            record = services.record_create(
                org=principal.org, owner=principal.user, sobject=sobject, values=values
            )
            return record.pk, None
        record_id = str(values.pop("Id", values.pop("id", "")) or "")
        services.record_update(
            org=principal.org, sobject=sobject, record_id=record_id, values=values
        )
        return record_id, None
    except RecordError as error:
        return None, error


@api_endpoint
def composite_sobjects_view(
    request: HttpRequest, principal: ApiPrincipal, version: str
) -> HttpResponse:
    """POST (create), PATCH (update) or DELETE up to 200 records, optionally all or none."""
    from django.db import transaction

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
    if len(items) > MAX_COMPOSITE:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COMPOSITE} records into this call",
        )
    if any(_record_type(item) == IER or str(item).startswith(INDIVIDUAL_EMAIL_RESULT_PREFIX)
           for item in items):  # fmt: skip
        set_family(request, "bulk")
    results: list[tuple[str | None, RecordError | None]] = []
    try:
        with transaction.atomic():
            for item in items:
                results.append(
                    _delete_one(principal, item)
                    if request.method == "DELETE"
                    else _composite_one(principal, request.method or "", item)
                )
            if all_or_none and any(error for _, error in results):
                raise _Rollback
    except _Rollback:
        return json_response([
            {"id": None, "success": False, "errors": [_record_error(e)] if e else [ROLLED_BACK]}
            for _, e in results
        ])  # fmt: skip
    return json_response([
        {"id": rid, "success": e is None, "errors": [_record_error(e)] if e else []}
        for rid, e in results
    ])  # fmt: skip


def _delete_one(principal: ApiPrincipal, record_id: str) -> tuple[str | None, RecordError | None]:
    sobject = next((o for o in REGISTRY.all() if record_id.startswith(o.key_prefix)), None)
    if sobject is None:
        return None, RecordError("MALFORMED_ID", f"malformed id {record_id}")
    try:
        services.record_delete(org=principal.org, sobject=sobject, record_id=record_id)
    except RecordError as error:
        return None, error
    return record_id, None


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
    """DailyApiRequests (with one entry per connected app) and a few fixed allocations."""
    _allow(request, "GET")
    limit = principal.org.api_daily_limit
    used = int(getattr(request, "api_used_before", 0)) + 1
    daily: dict[str, Any] = {"Max": limit, "Remaining": max(limit - used, 0)}
    per_app = api_usage_by_app(org=principal.org, since=timezone.now() - WINDOW)
    for name, calls in sorted(per_app.items()):
        if name:
            daily[name] = {"Max": limit, "Remaining": max(limit - calls, 0)}
    return json_response({
        "DailyApiRequests": daily,
        "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
        "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        "FileStorageMB": {"Max": 1024, "Remaining": 1024},
    })  # fmt: skip


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
    """Run a report synchronously; detail rows only with `includeDetails=true`."""
    _allow(request, "GET", "POST")
    if request.method == "POST":
        json_body(request)  # runtime report metadata is read but not applied
    details = request.GET.get("includeDetails", "false").lower() == "true"
    body = reports.report_execute(
        org=principal.org, report_id=report_id, version=version, include_details=details
    )
    return json_response(body)


@api_endpoint
def unknown_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, rest: str
) -> HttpResponse:
    raise not_found()
