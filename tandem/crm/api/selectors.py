"""REST API reads: describe, records by id or external id, the replication resources
(`sobjects/<X>/updated` and `/deleted`) and limits, always scoped to the caller's org."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tandem.crm.api.errors import ApiError
from tandem.crm.api.metering import WINDOW, api_usage_by_app
from tandem.crm.api.serialize import format_datetime, record_json
from tandem.crm.orgs.models import Org
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.selectors import (
    normalize_id,
    record_by_external_id,
    record_get,
    record_queryset,
)
from tandem.crm.soql.schema import FieldDescribe, ObjectDescribe

MAX_COLLECTION = 200
MAX_RETRIEVE = 2000  # ids one sObject collections retrieve may name
REPLICATION_WINDOW = dt.timedelta(days=30)
MAX_REPLICATED_IDS = 600_000


# --- describe --------------------------------------------------------------------------------


def _urls(sobject: ObjectDescribe, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{sobject.name}"
    return {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}


def sobject_summary(sobject: ObjectDescribe, version: str) -> dict[str, Any]:
    """One object as describeGlobal lists it."""
    return {
        "name": sobject.name,
        "label": sobject.label,
        "labelPlural": sobject.label_plural,
        "keyPrefix": sobject.key_prefix,
        "custom": sobject.name.endswith("__c"),
        "queryable": True,
        "retrieveable": True,
        "searchable": sobject.searchable,
        "createable": sobject.createable,
        "updateable": sobject.updateable,
        "deletable": sobject.deletable,
        "replicateable": True,
        "urls": _urls(sobject, version),
    }


def _field_describe(field: FieldDescribe) -> dict[str, Any]:
    return {
        "name": field.name,
        "label": field.label,
        "type": field.type.value,
        "length": field.length,
        "nillable": field.nillable,
        "createable": field.createable,
        "updateable": field.updateable,
        "filterable": True,
        "sortable": True,
        "externalId": field.external_id,
        "idLookup": field.indexed or field.name == "Id",
        "custom": field.name.endswith("__c"),
        "referenceTo": list(field.references),
        "relationshipName": field.relationship_name,
        "polymorphicForeignKey": bool(field.polymorphic_to),
        "defaultedOnCreate": field.default_on_create,
        "picklistValues": [
            {"value": v, "label": v, "active": True, "defaultValue": False}
            for v in field.picklist_values
        ],
    }


def describe_global(*, version: str) -> dict[str, Any]:
    return {
        "encoding": "UTF-8",
        "maxBatchSize": MAX_COLLECTION,
        "sobjects": [sobject_summary(o, version) for o in REGISTRY.all()],
    }


def describe_sobject(sobject: ObjectDescribe, *, version: str) -> dict[str, Any]:
    body = sobject_summary(sobject, version)
    body["fields"] = [_field_describe(f) for f in sobject.fields]
    body["childRelationships"] = [
        {
            "childSObject": child.name,
            "field": lookup.name,
            "relationshipName": name,
            "cascadeDelete": False,
            "deprecatedAndHidden": False,
        }
        for name, child, lookup in REGISTRY.children(sobject.name)
    ]
    return body


# --- records ---------------------------------------------------------------------------------


def record_detail(
    *, org: Org, sobject: ObjectDescribe, record_id: str, version: str, fields: list[str]
) -> dict[str, Any]:
    """One record as JSON (every field, or `fields`)."""
    record = record_get(org=org, sobject=sobject, record_id=record_id)
    return record_json(sobject, record, version, fields)


def records_by_ids(
    *, org: Org, sobject: ObjectDescribe, ids: list[str], version: str, fields: list[str]
) -> list[dict[str, Any] | None]:
    """sObject collections retrieve: the named fields of each record, in the order of `ids`;
    null in place of an id that names no live record of this type in the org."""
    if len(ids) > MAX_RETRIEVE:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RETRIEVE} records into this call",
        )
    normal = [normalize_id(i) for i in ids]
    wanted = {n for n in normal if n is not None and n.startswith(sobject.key_prefix)}
    found = {r.pk: r for r in record_queryset(org=org, sobject=sobject).filter(pk__in=wanted)}
    return [record_json(sobject, found[n], version, fields) if n in found else None for n in normal]


# --- external ids ----------------------------------------------------------------------------


def record_detail_by_external_id(
    *,
    org: Org,
    sobject: ObjectDescribe,
    field_name: str,
    key: str,
    version: str,
    fields: list[str],
) -> dict[str, Any]:
    """The record whose external id is `key`, as JSON."""
    record = record_by_external_id(org=org, sobject=sobject, field_name=field_name, key=key)
    return record_json(sobject, record, version, fields)


# --- replication: updated and deleted --------------------------------------------------------


def _bad_date(message: str) -> ApiError:
    return ApiError(400, "INVALID_REPLICATION_DATE", message)


def parse_replication_date(name: str, text: str | None) -> dt.datetime:
    """A `start` or `end` parameter (ISO 8601, UTC if no offset), seconds cut off."""
    if not text:
        raise ApiError(400, "MISSING_ARGUMENT", f"Missing required parameter: {name}")
    # An unencoded "+" in a query string arrives as a space.
    value = text.strip().replace(" ", "+").replace("Z", "+00:00")
    if len(value) >= 5 and value[-5] in "+-" and value[-3] != ":":
        value = value[:-2] + ":" + value[-2:]
    try:
        if not (value.isascii() and value.isprintable()):  # fromisoformat ignores a final NUL
            raise ValueError(value)
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise _bad_date(f"{name}: not a valid dateTime: {text[:40]}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC).replace(second=0, microsecond=0)
    except OverflowError:
        raise _bad_date(f"{name}: not a valid dateTime: {text[:40]}") from None


@dataclass(frozen=True)
class ReplicationRange:
    start: dt.datetime
    end: dt.datetime
    earliest: dt.datetime
    latest: dt.datetime


def replication_range(start_text: str | None, end_text: str | None) -> ReplicationRange:
    """The range asked for, or Salesforce's INVALID_REPLICATION_DATE."""
    start = parse_replication_date("start", start_text)
    end = parse_replication_date("end", end_text)
    now = timezone.now().replace(second=0, microsecond=0)
    earliest = now - REPLICATION_WINDOW
    if start >= end:
        raise _bad_date("startDate must chronologically precede endDate")
    if start < earliest:
        raise _bad_date(
            f"startDate cannot be before {format_datetime(earliest)} (at most 30 days ago)"
        )
    if start > now:
        raise _bad_date("startDate cannot be in the future")
    return ReplicationRange(start, end, earliest, min(end, now))


def _changed(org: Org, sobject: ObjectDescribe, span: ReplicationRange, *, deleted: bool) -> Any:
    if sobject.field("SystemModstamp") is None or sobject.field("IsDeleted") is None:
        raise ApiError(400, "INVALID_TYPE", f"sObject type {sobject.name} is not replicable")
    queryset = record_queryset(org=org, sobject=sobject, include_deleted=deleted)
    if deleted:
        queryset = queryset.filter(is_deleted=True)
    queryset = queryset.filter(
        system_modstamp__gte=span.start, system_modstamp__lt=span.latest
    ).order_by("system_modstamp", "pk")
    if queryset[MAX_REPLICATED_IDS : MAX_REPLICATED_IDS + 1].exists():
        raise ApiError(400, "EXCEEDED_ID_LIMIT", "More than 600,000 ids: choose a shorter range")
    return queryset


def records_updated(*, org: Org, sobject: ObjectDescribe, span: ReplicationRange) -> dict[str, Any]:
    """Ids of the records added or changed in the range (by SystemModstamp)."""
    ids = list(_changed(org, sobject, span, deleted=False).values_list("pk", flat=True))
    return {"ids": ids, "latestDateCovered": format_datetime(span.latest)}


def records_deleted(*, org: Org, sobject: ObjectDescribe, span: ReplicationRange) -> dict[str, Any]:
    """The records moved to the recycle bin in the range, with when."""
    rows = _changed(org, sobject, span, deleted=True).values_list("pk", "system_modstamp")
    return {
        "deletedRecords": [{"id": pk, "deletedDate": format_datetime(when)} for pk, when in rows],
        "earliestDateAvailable": format_datetime(span.earliest),
        "latestDateCovered": format_datetime(span.latest),
    }


# --- limits ----------------------------------------------------------------------------------


def api_limits(*, org: Org, used: int, bulk: dict[str, Any]) -> dict[str, Any]:
    """DailyApiRequests (with one entry per connected app), the Bulk API's entries (`bulk`)
    and a few fixed allocations."""
    limit = org.api_daily_limit
    daily: dict[str, Any] = {"Max": limit, "Remaining": max(limit - used, 0)}
    per_app = api_usage_by_app(org=org, since=timezone.now() - WINDOW)
    for name, calls in sorted(per_app.items()):
        if name:
            daily[name] = {"Max": limit, "Remaining": max(limit - calls, 0)}
    return {
        "DailyApiRequests": daily,
        **bulk,
        "ConcurrentAsyncGetReportInstances": {"Max": 200, "Remaining": 200},
        "ConcurrentSyncReportRuns": {"Max": 20, "Remaining": 20},
        "DataStorageMB": {"Max": 1024, "Remaining": 1024},
        "FileStorageMB": {"Max": 1024, "Remaining": 1024},
    }


def record_counts(*, org: Org, names: list[str]) -> dict[str, Any]:
    """`limits/recordCount`: how many live records of each named type (every type when `names`
    is empty) the org holds. Names that are no sObject type are left out, as Salesforce does."""
    if names:
        wanted = [o for o in (REGISTRY.get(n) for n in names) if o is not None]
    else:
        wanted = REGISTRY.all()
    return {
        "sObjects": [
            {"count": record_queryset(org=org, sobject=o).count(), "name": o.name} for o in wanted
        ]
    }
