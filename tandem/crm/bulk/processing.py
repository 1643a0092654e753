"""Running a Bulk API 2.0 job, in chunks that each commit with their progress.

`job_run(job_id)` is what a CRM worker calls. It claims the job for a lease, then works through
it a chunk at a time: a chunk's record writes, its per-row results and the job's new position
commit in one transaction, guarded by the position it started from, the claim and the job's
state. A run that dies loses at most its open chunk (rolled back); the next run resumes at the
committed position, so no row is applied twice. The guard locks the job row, so an abort
waits for the chunk in flight to commit and the next chunk's guard sees it: the run stops
there, and the rows after it are the job's unprocessed records.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from enum import Enum
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from tandem.crm.api.errors import ApiError
from tandem.crm.api.services import query_bind
from tandem.crm.bulk import fastinsert, fastquery
from tandem.crm.bulk.csvio import DELIMITERS, CsvProblem, Table, document, lines, parse
from tandem.crm.bulk.models import (
    BulkJob,
    BulkQueryChunk,
    BulkRowResult,
    BulkUpload,
    JobState,
    JobType,
)
from tandem.crm.records import services as records
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.errors import RecordError
from tandem.crm.records.selectors import record_queryset
from tandem.crm.soql.bind import BoundQuery
from tandem.crm.soql.orm import page_rows, total_size
from tandem.crm.soql.orm import records as nested_records
from tandem.crm.soql.schema import NUMBER_TYPES, FieldDescribe, FieldType, ObjectDescribe

log = logging.getLogger(__name__)

INGEST_CHUNK = 500
FAST_INGEST_CHUNK = 25_000  # an insert chunk on PostgreSQL's fast path (fastinsert)
QUERY_CHUNK = 2000
FAST_QUERY_CHUNK = 50_000  # a query chunk on PostgreSQL's fast path: one default page
NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
NULL = "#N/A"  # a CSV value that empties the field (an empty value leaves it as it is)


class Outcome(Enum):
    DONE = "done"  # finished, or nothing left to do
    BUSY = "busy"  # another run holds a live claim: try again after its lease
    LOST = "lost"  # the job was aborted or taken over mid-run


def lease() -> dt.timedelta:
    """How long a claim lasts past its last committed chunk (TANDEM_BULK_LEASE_SECONDS)."""
    return dt.timedelta(seconds=settings.CRM_BULK_LEASE_SECONDS)


class _Lost(Exception):
    """The chunk's guard failed: roll the chunk back and stop."""


# --- claim, chunks, end ----------------------------------------------------------------------


def _claim(job_id: str) -> tuple[BulkJob | None, str]:
    token = uuid.uuid4().hex
    now = timezone.now()
    free = Q(claim_token="") | Q(claimed_until__lt=now)
    runnable = Q(state__in=(JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS))
    resumed = BulkJob.objects.filter(pk=job_id, state=JobState.IN_PROGRESS).filter(free)
    retries = 1 if resumed.exists() else 0
    claimed = BulkJob.objects.filter(runnable & free, pk=job_id).update(
        state=JobState.IN_PROGRESS,
        claim_token=token,
        claimed_until=now + lease(),
        retries=F("retries") + retries,
        system_modstamp=now,
    )
    if not claimed:
        return None, ""
    return BulkJob.objects.get(pk=job_id), token


def _guard(job: BulkJob, token: str, position: int) -> None:
    """Lock the job if this run still holds it at `position`; else _Lost."""
    found = (
        BulkJob.objects.select_for_update()
        .filter(
            pk=job.pk, state=JobState.IN_PROGRESS, claim_token=token, records_processed=position
        )
        .values_list("pk", flat=True)
        .first()
    )
    if found is None:
        raise _Lost


def _advance(
    job: BulkJob, token: str, position: int, count: int, failed: int, started: float, **extra: Any
) -> None:
    """Record the chunk's end; a run that no longer holds the job rolls its chunk back."""
    now = timezone.now()
    held = Q(claim_token=token, state=JobState.IN_PROGRESS, records_processed=position)
    moved = BulkJob.objects.filter(held, pk=job.pk).update(
        records_processed=position + count,
        records_failed=F("records_failed") + failed,
        processing_ms=F("processing_ms") + int((time.monotonic() - started) * 1000),
        claimed_until=now + lease(),
        system_modstamp=now,
        **extra,
    )
    if not moved:
        raise _Lost


def _finish(job: BulkJob, token: str, state: str, message: str = "") -> None:
    BulkJob.objects.filter(pk=job.pk, claim_token=token, state=JobState.IN_PROGRESS).update(
        state=state,
        error_message=message,
        claim_token="",
        claimed_until=None,
        system_modstamp=timezone.now(),
    )


def job_run(job_id: str) -> Outcome:
    """Run (or resume) one job until it is finished, aborted or taken over."""
    job, token = _claim(job_id)
    if job is None:
        live = BulkJob.objects.filter(
            pk=job_id, state=JobState.IN_PROGRESS, claimed_until__gte=timezone.now()
        ).exists()
        return Outcome.BUSY if live else Outcome.DONE
    try:
        if job.job_type == JobType.INGEST:
            _ingest(job, token)
        else:
            _query(job, token)
    except _Lost:
        return Outcome.LOST
    return Outcome.DONE


# --- ingest ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParentKey:
    """A `Relationship.ExternalIdField` column: its values name the parent by an external id,
    and the row sets the lookup field to that parent's Id."""

    parent: ObjectDescribe
    key: FieldDescribe  # the parent's external id field


@dataclass(frozen=True)
class Plan:
    """How the columns of an upload map onto the object's fields."""

    sobject: ObjectDescribe
    columns: list[FieldDescribe]  # a parent key column maps onto its lookup field
    key_index: int | None  # the Id column (update, delete) or the external id (upsert)
    parents: dict[int, ParentKey] = dataclass_field(default_factory=dict)
    org: Any = None  # the job's org, where parent keys are looked up


# Per parent key column: external id → the parent's Id, for the rows of one chunk.
ParentIds = dict[int, dict[str, str]]


def _invalid(message: str) -> CsvProblem:
    return CsvProblem(message)


def _parent_column(sobject: ObjectDescribe, name: str) -> tuple[FieldDescribe, ParentKey] | None:
    """`Account.External_Id__c`, or `Lead:Who.Email` through a polymorphic lookup: the lookup
    field whose relationship is named, and the indexed field of the parent type; None when the
    name is not such a column. A polymorphic lookup needs the type (Salesforce's rule): without
    it the column is refused with a hint rather than guessed."""
    path, _, key_name = name.partition(".")
    type_name, typed, relationship = path.rpartition(":")
    lookup = next(
        (
            f
            for f in sobject.fields
            if f.reference_to and (f.relationship_name or "").lower() == relationship.lower()
        ),
        None,
    )
    if lookup is None:
        return None
    if not typed and lookup.polymorphic_to:
        example = f"{lookup.references[0]}:{lookup.relationship_name}.{key_name[:40]}"
        raise _invalid(
            f"Field name not found : {name[:80]} (the {lookup.name} lookup is "
            f"polymorphic: name the parent type, as in {example})"
        )
    wanted = type_name if typed else lookup.reference_to or ""
    parent_name = next((t for t in lookup.references if t.lower() == wanted.lower()), "")
    parent = REGISTRY.get(parent_name)
    key = parent.field(key_name) if parent else None
    if parent is None or key is None or not key.indexed:
        return None
    return lookup, ParentKey(parent, key)


def ingest_plan(job: BulkJob, header: Sequence[str]) -> Plan:
    """The upload's header checked against the object and the operation, or CsvProblem."""
    sobject = REGISTRY.get(job.object)
    assert sobject is not None
    columns: list[FieldDescribe] = []
    parents: dict[int, ParentKey] = {}
    seen: set[str] = set()
    for index, name in enumerate(header):
        column = sobject.field(name)
        if column is None and "." in name:
            found = _parent_column(sobject, name)
            if found is not None:
                column, parents[index] = found
        if column is None:
            raise _invalid(f"Field name not found : {name[:80]}")
        if column.name in seen:
            raise _invalid(f"Duplicate field name : {column.name}")
        seen.add(column.name)
        columns.append(column)
    names = [f.name for f in columns]
    key = {
        "update": "Id",
        "delete": "Id",
        "hardDelete": "Id",
        "upsert": job.external_id_field_name,
    }.get(job.operation)
    if key is not None and key not in names:
        raise _invalid(f"The {key} column is required for {job.operation}")
    if job.operation in ("delete", "hardDelete") and names != ["Id"]:
        raise _invalid(f"A {job.operation} upload has only the Id column")
    return Plan(sobject, columns, names.index(key) if key else None, parents, job.org)


def typed_value(field: FieldDescribe, text: str) -> Any:
    """A CSV value as the JSON value the record services expect; a value of the wrong form is
    passed as text, so the field's own check refuses it with Salesforce's error."""
    if text == NULL:
        return None
    if field.type == FieldType.BOOLEAN:
        lowered = text.strip().lower()
        return {"true": True, "1": True, "false": False, "0": False}.get(lowered, text)
    if field.type in NUMBER_TYPES and NUMBER.fullmatch(text):
        return int(text) if text.lstrip("+-").isdigit() else float(text)
    return text


def parent_ids(job: BulkJob, plan: Plan, chunk: list[list[str]]) -> ParentIds:
    """The parents that the chunk's parent key columns name, found in the job's org (live
    records only), in one query per column. A key that several records share (an Email) is
    left out, as is one that none has: `_parent_id` tells the two apart."""
    found: ParentIds = {}
    for index, parent in plan.parents.items():
        keys = {row[index] for row in chunk} - {"", NULL}
        queryset = record_queryset(org=job.org, sobject=parent.parent).filter(
            **{f"{parent.key.orm}__in": keys}
        )
        pairs = list(queryset.values_list(parent.key.orm, "pk")) if keys else []
        shared = {key for key, count in Counter(key for key, _ in pairs).items() if count > 1}
        found[index] = {key: pk for key, pk in pairs if key not in shared}
    return found


def _parent_id(plan: Plan, index: int, value: str, parents: ParentIds) -> str | None:
    if value == NULL:
        return None
    parent = plan.parents[index]
    found = parents.get(index, {}).get(value)
    if found is not None:
        return found
    matches = record_queryset(org=plan.org, sobject=parent.parent).filter(**{parent.key.orm: value})
    what = "matched more than one record" if matches[:2].count() > 1 else "not found"
    raise RecordError(
        "INVALID_FIELD",
        f"Foreign key external ID: {value[:80]} {what} for field {parent.key.name} in "
        f"entity {parent.parent.name}",
    )


def row_values(
    plan: Plan, row: Sequence[str], skip: int | None, parents: ParentIds
) -> dict[str, Any]:
    return {
        column.name: (
            _parent_id(plan, index, value, parents)
            if index in plan.parents
            else typed_value(column, value)
        )
        for index, (column, value) in enumerate(zip(plan.columns, row, strict=True))
        if value != "" and index != skip
    }


def sf_error(error: RecordError) -> str:
    """A row's `sf__Error`: STATUS_CODE:message:fields --"""
    return f"{error.status_code}:{error.message}:{','.join(error.fields)} --"


RowOutcome = tuple[str, bool, RecordError | None]  # record id, created, error


def _apply(
    job: BulkJob, plan: Plan, row: Sequence[str], duplicates: set[str], parents: ParentIds
) -> RowOutcome:
    org, sobject, operation = job.org, plan.sobject, job.operation
    key = row[plan.key_index].strip() if plan.key_index is not None else ""
    if operation == "insert":
        values = row_values(plan, row, None, parents)
        record = records.record_create(
            org=org, owner=job.created_by, sobject=sobject, values=values
        )
        return record.pk, True, None
    if not key:
        what = "Id" if plan.columns[plan.key_index or 0].name == "Id" else "External ID"
        if operation == "upsert" and what == "Id":
            values = row_values(plan, row, plan.key_index, parents)
            record = records.record_create(
                org=org, owner=job.created_by, sobject=sobject, values=values
            )
            return record.pk, True, None
        return "", False, RecordError("MISSING_ARGUMENT", f"{what} not specified")
    if operation in ("update", "upsert") and key in duplicates:
        return (
            "",
            False,
            RecordError(
                "DUPLICATE_EXTERNAL_ID" if operation == "upsert" else "DUPLICATE_VALUE",
                f"Duplicate key specified in this upload: {key[:80]}",
                [plan.columns[plan.key_index or 0].name],
            ),
        )
    if operation == "update" or (operation == "upsert" and job.external_id_field_name == "Id"):
        values = row_values(plan, row, plan.key_index, parents)
        record = records.record_update(org=org, sobject=sobject, record_id=key, values=values)
        return record.pk, False, None
    if operation == "upsert":
        values = row_values(plan, row, plan.key_index, parents)
        record, created = records.record_upsert(
            org=org,
            owner=job.created_by,
            sobject=sobject,
            field_name=job.external_id_field_name,
            key=key,
            values=values,
        )
        return record.pk, created, None
    if operation == "delete":
        records.record_delete(org=org, sobject=sobject, record_id=key)
    else:
        records.record_hard_delete(org=org, sobject=sobject, record_id=key)
    return key, False, None


def _apply_safely(
    job: BulkJob, plan: Plan, row: Sequence[str], duplicates: set[str], parents: ParentIds
) -> RowOutcome:
    """One row in its own savepoint: a failure undoes that row only."""
    key = row[plan.key_index].strip() if plan.key_index is not None else ""
    try:
        with transaction.atomic():
            return _apply(job, plan, row, duplicates, parents)
    except RecordError as error:
        return (key if job.operation in ("update", "delete", "hardDelete") else ""), False, error
    except Exception:  # a row must never stop the others: report it as Salesforce would
        log.exception("bulk job %s: a row failed unexpectedly", job.pk)
        unknown = RecordError("UNKNOWN_EXCEPTION", "An unexpected error occurred on this row")
        return "", False, unknown


def rows_inserted(
    job: BulkJob, plan: Plan, chunk: list[list[str]], parents: ParentIds
) -> list[RowOutcome] | None:
    """Insert a chunk's valid rows in one statement: each row is built and checked by the
    record services as a REST create is, then all of them are saved at once. None when the
    statement fails (a unique value taken): the caller then applies the rows one by one."""
    built: list[Any] = []
    outcomes: list[RowOutcome] = []
    for row in chunk:
        try:
            values = row_values(plan, row, None, parents)
            record = records.record_build(
                org=job.org, owner=job.created_by, sobject=plan.sobject, values=values
            )
        except RecordError as error:
            outcomes.append(("", False, error))
            continue
        except Exception:  # the row-by-row path reports it
            return None
        built.append(record)
        outcomes.append((record.pk, True, None))
    if not built:
        return outcomes
    try:
        with transaction.atomic():
            type(built[0])._default_manager.bulk_create(built)
    except IntegrityError:
        return None
    return outcomes


def _bulk_inserted(
    job: BulkJob,
    plan: Plan,
    chunk: list[list[str]],
    parents: ParentIds,
    fast: fastinsert.FastInsert | None,
) -> list[RowOutcome] | None:
    """The outcomes of an insert chunk written at once (None: apply it row by row)."""
    if job.operation != "insert":
        return None
    if fast is not None:
        return fastinsert.insert_chunk(fast, job, plan, chunk, parents)
    return rows_inserted(job, plan, chunk, parents)


def _store_results(job: BulkJob, position: int, outcomes: list[RowOutcome]) -> None:
    if connection.vendor == "postgresql":
        fastinsert.copy_results(job.pk, position, outcomes, sf_error)
        return
    BulkRowResult.objects.bulk_create(
        BulkRowResult(
            job=job,
            row=position + offset,
            success=error is None,
            record_id=record_id,
            created=created,
            error=sf_error(error) if error else "",
        )
        for offset, (record_id, created, error) in enumerate(outcomes)
    )


def _duplicates(table: Table, plan: Plan, operation: str) -> set[str]:
    if operation not in ("update", "upsert") or plan.key_index is None:
        return set()
    counts = Counter(row[plan.key_index].strip() for row in table.rows)
    return {key for key, count in counts.items() if key and count > 1}


def _ingest(job: BulkJob, token: str) -> None:
    upload = BulkUpload.objects.filter(job=job).first()
    if upload is None:
        _finish(job, token, JobState.FAILED, "InvalidBatch : No data was uploaded to this job")
        return
    try:
        table = parse(bytes(upload.data), job.column_delimiter)
        plan = ingest_plan(job, table.header)
    except CsvProblem as problem:
        _finish(job, token, JobState.FAILED, f"InvalidBatch : {problem}")
        return
    total = len(table.rows)
    BulkJob.objects.filter(pk=job.pk, claim_token=token).update(records_total=total)
    duplicates = _duplicates(table, plan, job.operation)
    fast = fastinsert.prepare(job, plan)
    size = FAST_INGEST_CHUNK if fast else INGEST_CHUNK
    position = BulkJob.objects.get(pk=job.pk).records_processed
    while position < total:
        chunk = table.rows[position : position + size]
        ingest_chunk(job, token, plan, position, chunk, duplicates, fast)
        position += len(chunk)
    if fast is not None:
        fastinsert.analyze(fast, total)
    _finish(job, token, JobState.JOB_COMPLETE)


def ingest_chunk(
    job: BulkJob,
    token: str,
    plan: Plan,
    position: int,
    chunk: list[list[str]],
    duplicates: set[str],
    fast: fastinsert.FastInsert | None = None,
) -> None:
    """Apply rows `position`… and record their results and the job's progress, all in one
    transaction (or none of it, if this run no longer holds the job)."""
    started = time.monotonic()
    with transaction.atomic():
        _guard(job, token, position)
        parents = parent_ids(job, plan, chunk)
        outcomes = _bulk_inserted(job, plan, chunk, parents, fast)
        if outcomes is None:
            outcomes = [_apply_safely(job, plan, row, duplicates, parents) for row in chunk]
        _store_results(job, position, outcomes)
        failed = sum(1 for _, _, error in outcomes if error)
        _advance(job, token, position, len(chunk), failed, started)


# --- query -----------------------------------------------------------------------------------


def query_header(query: BoundQuery) -> list[str]:
    return [".".join(field.key) for field in query.fields]


def _csv_value(field: FieldDescribe, value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.type == FieldType.DATETIME and isinstance(value, str) and value.endswith("+0000"):
        return value[:-5] + "Z"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _csv_rows(query: BoundQuery, rows: list[tuple[Any, ...]]) -> list[list[Any]]:
    out = []
    for record in nested_records(iter(rows), query):
        line = []
        for field in query.fields:
            value = record.get(field.key[0])
            if field.relationship is not None:
                value = value.get(field.key[1]) if isinstance(value, dict) else None
            line.append(_csv_value(field.field, value))
        out.append(line)
    return out


def _query_chunk(
    job: BulkJob, query: BoundQuery, queryset: Any, position: int, cursor: Any
) -> tuple[int, Any]:
    """Store the next QUERY_CHUNK records as CSV lines made here: (rows, last key)."""
    rows = page_rows(
        query, queryset, position=position, size=QUERY_CHUNK, after_pk=cursor, text_datetimes=True
    )
    if not rows:
        return 0, None
    text = list(lines(_csv_rows(query, rows), job.column_delimiter))
    BulkQueryChunk.objects.create(job=job, first_row=position, row_count=len(rows), lines=text)
    return len(rows), rows[-1][0]


def _fast_query_chunk(
    job: BulkJob, query: BoundQuery, queryset: Any, position: int, cursor: Any
) -> tuple[int, Any]:
    delimiter = DELIMITERS[job.column_delimiter]
    return fastquery.store_chunk(
        job,
        query,
        queryset,
        position=position,
        size=FAST_QUERY_CHUNK,
        after_pk=cursor,
        delimiter=delimiter,
    )


def _query(job: BulkJob, token: str) -> None:
    try:
        query = query_bind(job.soql)
    except ApiError as error:  # the schema changed since the job was created
        message = f"InvalidBatch : Failed to process query: {error.error_code}: {error.message}"
        _finish(job, token, JobState.FAILED, message)
        return
    queryset = record_queryset(
        org=job.org, sobject=query.sobject, include_deleted=job.operation == "queryAll"
    )
    fresh = BulkJob.objects.get(pk=job.pk)
    if fresh.records_processed == 0:
        header = document(query_header(query), [], job.column_delimiter, "LF")[:-1]
        BulkJob.objects.filter(pk=job.pk, claim_token=token).update(
            records_total=total_size(query, queryset), csv_header=header
        )
    position, cursor = fresh.records_processed, fresh.query_cursor_pk or None
    chunk = _fast_query_chunk if fastquery.eligible(query) else _query_chunk
    while True:
        with transaction.atomic():
            started = time.monotonic()
            _guard(job, token, position)
            count, last = chunk(job, query, queryset, position, cursor)
            if not count:
                break
            _advance(job, token, position, count, 0, started, query_cursor_pk=last)
        position, cursor = position + count, last
    _finish(job, token, JobState.JOB_COMPLETE)
