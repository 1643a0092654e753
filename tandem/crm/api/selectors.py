"""REST API reads beyond SOQL: records by external id, and the replication resources
(`sobjects/<X>/updated` and `/deleted`), always scoped to the caller's org."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tandem.crm.api.errors import ApiError
from tandem.crm.api.serialize import format_datetime
from tandem.crm.orgs.models import Org
from tandem.crm.records.errors import RecordError, RecordNotFoundError
from tandem.crm.records.selectors import external_id_value, record_get, record_queryset
from tandem.crm.soql.schema import FieldDescribe, ObjectDescribe

REPLICATION_WINDOW = dt.timedelta(days=30)
MAX_REPLICATED_IDS = 600_000


# --- external ids ----------------------------------------------------------------------------


def external_id_field(sobject: ObjectDescribe, field_name: str) -> FieldDescribe:
    """The external id field `field_name` of `sobject` (Id counts), or NOT_FOUND."""
    field = sobject.field(field_name)
    if field is None or not (field.external_id or field.name == "Id"):
        raise RecordError(
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name[:80]}",
        )
    return field


def record_by_external_id(*, org: Org, sobject: ObjectDescribe, field_name: str, key: str) -> Any:
    """The live record whose external id is `key` (unique in the org), or NOT_FOUND."""
    field = external_id_field(sobject, field_name)
    key = external_id_value(field, key)
    if field.name == "Id":
        return record_get(org=org, sobject=sobject, record_id=key)
    found = record_queryset(org=org, sobject=sobject).filter(**{field.orm: key}).first()
    if found is None:
        raise RecordNotFoundError()
    return found


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
        raise ApiError(
            400, "EXCEEDED_ID_LIMIT", "More than 600,000 ids: choose a shorter range"
        )  # fmt: skip
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
