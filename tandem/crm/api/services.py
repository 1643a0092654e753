"""REST API operations that write: queries (their locators), sObject collections.

Record writes themselves are `tandem.crm.records.services`; the composite family is
`composite.py` and `tree.py`. Views parse a request and call one function here or in
`selectors.py`.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from tandem.crm.api import pgjson
from tandem.crm.api.db import relaxed_commit
from tandem.crm.api.errors import ApiError
from tandem.crm.api.models import QueryLocator
from tandem.crm.api.serialize import query_records
from tandem.crm.orgs.models import Org
from tandem.crm.records import services as records
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.errors import RecordError
from tandem.crm.records.selectors import record_queryset
from tandem.crm.soql import SoqlError, parse
from tandem.crm.soql.bind import BoundQuery, bind
from tandem.crm.soql.orm import child_rows, page_rows, total_size
from tandem.crm.soql.schema import FieldDescribe, ObjectDescribe
from tandem.crm.users.models import User

LOCATOR_LIFETIME = dt.timedelta(minutes=15)
MAX_COLLECTION = 200


# --- query -----------------------------------------------------------------------------------


def query_bind(text: str) -> BoundQuery:
    """A SOQL text parsed and bound, or Salesforce's error for it."""
    try:
        return bind(parse(text), REGISTRY, today=timezone.now().date())
    except SoqlError as error:
        raise ApiError(400, error.error_code, error.message) from None


@dataclass(frozen=True)
class QueryPage:
    """One batch of a query: its records as JSON text, the total and the next batch's URL."""

    total: int
    records_json: str
    next_url: str | None = None


@dataclass(frozen=True)
class _Batch:
    count: int
    last_pk: str | None
    records_json: str


# The org's rows of an object (live, or with the recycle bin's for queryAll).
ChildSource = Callable[[ObjectDescribe], Any]


def _child_source(org: Org, include_deleted: bool) -> ChildSource:
    return lambda sobject: record_queryset(
        org=org, sobject=sobject, include_deleted=include_deleted
    )


def _attach_children(
    query: BoundQuery,
    found: list[dict[str, Any]],
    ids: list[Any],
    source: ChildSource,
    version: str,
) -> None:
    """Each record's child subqueries: `{totalSize, done, records}`, or null without rows."""
    for child in query.children:
        by_parent = child_rows(child, source(child.query.sobject), ids)
        for record, pk in zip(found, ids, strict=True):
            rows = by_parent.get(pk)
            record[child.name] = (
                None
                if not rows
                else {
                    "totalSize": len(rows),
                    "done": True,
                    "records": query_records(child.query, rows, version),
                }
            )


def _fetch(
    query: BoundQuery,
    queryset: Any,
    version: str,
    *,
    position: int,
    size: int,
    after_pk: str | None = None,
    children: ChildSource | None = None,
) -> _Batch:
    """A batch, its JSON built by PostgreSQL where available, else in Python (always when
    the query has child subqueries: their rows are fetched per batch)."""
    if query.children and children is not None:
        rows = page_rows(
            query, queryset, position=position, size=size, after_pk=after_pk, text_datetimes=True
        )
        parents = query_records(query, rows, version)
        _attach_children(query, parents, [r[0] for r in rows], children, version)
        return _Batch(len(rows), rows[-1][0] if rows else None, json.dumps(parents))
    if pgjson.is_available():
        found = pgjson.page_json(
            query, queryset, version=version, position=position, size=size, after_pk=after_pk
        )
        text = "[" + ",".join(record for _, record in found) + "]"
        return _Batch(len(found), found[-1][0] if found else None, text)
    rows = page_rows(
        query, queryset, position=position, size=size, after_pk=after_pk, text_datetimes=True
    )
    records_json = json.dumps(query_records(query, rows, version))
    return _Batch(len(rows), rows[-1][0] if rows else None, records_json)


def query_run(
    *,
    org: Org,
    user: User,
    text: str,
    query: BoundQuery,
    version: str,
    include_deleted: bool,
    batch_size: int,
) -> QueryPage:
    """The first batch of a query; a locator is kept for the next ones (15 minutes)."""
    queryset = record_queryset(org=org, sobject=query.sobject, include_deleted=include_deleted)
    total = total_size(query, queryset)
    if query.is_count:
        return QueryPage(total, "[]")
    found = _fetch(
        query,
        queryset,
        version,
        position=0,
        size=batch_size,
        children=_child_source(org, include_deleted),
    )
    next_url = None
    if found.count < total and found.last_pk:
        locator = QueryLocator.objects.create(
            org=org,
            user=user,
            soql=text,
            include_deleted=include_deleted,
            batch_size=batch_size,
            total_size=total,
            expires_at=timezone.now() + LOCATOR_LIFETIME,
            cursor_position=found.count,
            cursor_pk=found.last_pk,
        )
        next_url = f"/services/data/v{version}/query/{locator.id}-{found.count}"
    return QueryPage(total, found.records_json, next_url)


def _invalid_locator() -> ApiError:
    return ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def query_more(*, org: Org, user: User, locator: str, version: str) -> QueryPage:
    """The batch at `<locator id>-<position>`; the locator's cursor moves on."""
    locator_id, _, position_text = locator.partition("-")
    now = timezone.now()
    found = QueryLocator.objects.filter(
        pk=locator_id, org=org, user=user, expires_at__gt=now
    ).first()
    if found is None or not position_text.isdigit() or int(position_text) >= found.total_size:
        raise _invalid_locator()
    position = int(position_text)
    query = query_bind(found.soql)
    queryset = record_queryset(
        org=org, sobject=query.sobject, include_deleted=found.include_deleted
    )
    after = found.cursor_pk if position == found.cursor_position and found.cursor_pk else None
    batch = _fetch(
        query,
        queryset,
        version,
        position=position,
        size=found.batch_size,
        after_pk=after,
        children=_child_source(org, found.include_deleted),
    )
    end = position + batch.count
    next_url = None
    if batch.last_pk and end < found.total_size:
        with relaxed_commit():
            QueryLocator.objects.filter(pk=found.pk).update(
                cursor_position=end, cursor_pk=batch.last_pk, expires_at=now + LOCATOR_LIFETIME
            )
        next_url = f"/services/data/v{version}/query/{found.pk}-{end}"
    return QueryPage(found.total_size, batch.records_json, next_url)


# --- sObject collections (composite/sobjects) -------------------------------------------------


def _record_error(error: RecordError) -> dict[str, Any]:
    return {"statusCode": error.status_code, "message": error.message, "fields": error.fields}


ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": (
        "Record rolled back because not all records were valid and the request was using "
        "AllOrNone header"
    ),
    "fields": [],
}


class _Rollback(Exception):
    pass


def record_type(item: Any) -> str | None:
    """The `attributes.type` of a collection record, if it has one."""
    attributes = item.get("attributes") if isinstance(item, dict) else None
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    return kind if isinstance(kind, str) else None


Outcome = tuple[str | None, RecordError | None]


def _save_one(org: Org, user: User, method: str, item: Any) -> Outcome:
    if not isinstance(item, dict):
        return None, RecordError("INVALID_FIELD", "Each record must be a JSON object")
    kind = record_type(item)
    sobject = REGISTRY.get(kind or "")
    if sobject is None:
        return None, RecordError("INVALID_TYPE", f"sObject type '{kind}' is not supported.")
    values = {k: v for k, v in item.items() if k != "attributes"}
    try:
        if method == "POST":
            if "Id" in values or "id" in values:
                raise RecordError("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
            record = records.record_create(org=org, owner=user, sobject=sobject, values=values)
            return record.pk, None
        record_id = str(values.pop("Id", values.pop("id", "")) or "")
        records.record_update(org=org, sobject=sobject, record_id=record_id, values=values)
        return record_id, None
    except RecordError as error:
        return None, error


def _delete_one(org: Org, record_id: Any) -> Outcome:
    record_id = str(record_id)
    sobject = next((o for o in REGISTRY.all() if record_id.startswith(o.key_prefix)), None)
    if sobject is None:
        return None, RecordError("MALFORMED_ID", f"malformed id {record_id[:18]}")
    try:
        records.record_delete(org=org, sobject=sobject, record_id=record_id)
    except RecordError as error:
        return None, error
    return record_id, None


def _too_many(items: list[Any]) -> None:
    if len(items) > MAX_COLLECTION:
        raise ApiError(
            400,
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_COLLECTION} records "
            "into this call",
        )


def _all_or_none(
    outcomes: Iterator[tuple[Outcome, bool]], all_or_none: bool, *, upsert: bool = False
) -> list[dict[str, Any]]:
    """Run the writes in one transaction; with allOrNone one failure undoes them all. One
    SaveResult (UpsertResult: with `created`) per item, in order."""
    results: list[tuple[Outcome, bool]] = []
    rolled_back = False
    try:
        with transaction.atomic():
            results.extend(outcomes)
            if all_or_none and any(error for (_, error), _ in results):
                raise _Rollback
    except _Rollback:
        rolled_back = True
    answers = []
    for (rid, error), created in results:
        errors = [_record_error(error)] if error else [ROLLED_BACK] if rolled_back else []
        answer: dict[str, Any] = {
            "id": None if rolled_back else rid,
            "success": not errors,
            "errors": errors,
        }
        if upsert:
            answer["created"] = created and not rolled_back
        answers.append(answer)
    return answers


def collection_save(
    *, org: Org, user: User, method: str, items: list[Any], all_or_none: bool
) -> list[dict[str, Any]]:
    """Create (POST), update (PATCH) or delete (DELETE, ids) up to 200 records; with allOrNone
    one failure undoes them all. One result per item, in order."""
    _too_many(items)
    outcomes = (
        (
            _delete_one(org, item) if method == "DELETE" else _save_one(org, user, method, item),
            False,
        )
        for item in items
    )
    return _all_or_none(outcomes, all_or_none)


def _upsert_one(
    org: Org, user: User, sobject: ObjectDescribe, field: FieldDescribe, item: Any
) -> tuple[Outcome, bool]:
    if not isinstance(item, dict):
        return (None, RecordError("INVALID_FIELD", "Each record must be a JSON object")), False
    kind = record_type(item)
    if kind != sobject.name:
        message = f"Each record must have attributes.type {sobject.name}, the type of the URL"
        return (None, RecordError("INVALID_TYPE", message)), False
    values = {k: v for k, v in item.items() if k != "attributes"}
    if any(k.lower() == "id" for k in values):
        error = RecordError("INVALID_FIELD", "cannot specify Id in an upsert call", ["Id"])
        return (None, error), False
    key = next((v for k, v in values.items() if k.lower() == field.name.lower()), None)
    if key is None or key == "":
        message = f"Required fields are missing: [{field.name}]"
        return (None, RecordError("REQUIRED_FIELD_MISSING", message, [field.name])), False
    if isinstance(key, bool) or not isinstance(key, str | int):
        message = f"{field.label}: the external ID value must be a string"
        return (None, RecordError("INVALID_FIELD", message, [field.name])), False
    try:
        record, created = records.record_upsert(
            org=org,
            owner=user,
            sobject=sobject,
            field_name=field.name,
            key=str(key),
            values=values,
        )
    except RecordError as error:
        return (None, error), False
    return (record.pk, None), created


def collection_upsert(
    *,
    org: Org,
    user: User,
    sobject: ObjectDescribe,
    field_name: str,
    items: list[Any],
    all_or_none: bool,
) -> list[dict[str, Any]]:
    """Create or update up to 200 records of one type by an external id field (each record
    carries its value); allOrNone as in `collection_save`. One UpsertResult per item."""
    _too_many(items)
    field = sobject.field(field_name)
    if field is None or not field.external_id:
        raise RecordError(
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name[:80]}",
        )
    outcomes = (_upsert_one(org, user, sobject, field, item) for item in items)
    return _all_or_none(outcomes, all_or_none, upsert=True)
