"""Bulk API 2.0 job writes: create, upload, close, abort, delete. Processing a job is
`processing.py` (run by a CRM worker); reads are `selectors.py`."""

from __future__ import annotations

import logging
from typing import IO, Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.errors import ApiError, not_found
from tandem.crm.api.metering import WINDOW
from tandem.crm.api.services import query_bind
from tandem.crm.bulk import selectors
from tandem.crm.bulk.csvio import DELIMITERS, LINE_ENDINGS
from tandem.crm.bulk.models import FINISHED_STATES, BulkJob, BulkUpload, JobState, JobType
from tandem.crm.permissions.selectors import user_may_bulk_hard_delete
from tandem.crm.records.describe import REGISTRY

log = logging.getLogger(__name__)

INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")
INGEST_KEYS = frozenset(
    {
        "object",
        "operation",
        "externalIdFieldName",
        "columnDelimiter",
        "lineEnding",
        "contentType",
        "assignmentRuleId",
    }
)
QUERY_KEYS = frozenset({"operation", "query", "columnDelimiter", "lineEnding", "contentType"})
READ_SIZE = 1024 * 1024


def invalid_job(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOB", f"InvalidJob : {message}")


def invalid_state(message: str) -> ApiError:
    return ApiError(400, "INVALIDJOBSTATE", message)


def _options(body: Any, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
    for key, value in body.items():
        if key not in allowed:
            raise ApiError(400, "JSON_PARSER_ERROR", f'Unrecognized field "{key[:80]}"')
        if value is not None and not isinstance(value, str):
            raise ApiError(400, "JSON_PARSER_ERROR", f"{key}: a string is expected")
    if body.get("contentType") not in (None, "CSV"):
        raise invalid_job(f"Unsupported contentType: {str(body['contentType'])[:40]}")
    delimiter = body.get("columnDelimiter") or "COMMA"
    if delimiter not in DELIMITERS:
        raise invalid_job(f"Invalid columnDelimiter: {delimiter[:40]}")
    ending = body.get("lineEnding") or "LF"
    if ending not in LINE_ENDINGS:
        raise invalid_job(f"Invalid lineEnding: {ending[:40]}")
    return {"column_delimiter": delimiter, "line_ending": ending}


def _refuse_over_quota(principal: ApiPrincipal, job_type: str) -> None:
    """LIMIT_EXCEEDED once the org's rolling-day allocation for this job type is used up:
    DailyBulkApiBatches for ingest jobs, DailyBulkV2QueryJobs for query jobs."""
    batches, queries = selectors.bulk_usage(org=principal.org, since=timezone.now() - WINDOW)
    if job_type == JobType.INGEST:
        used, most, what = batches, selectors.DAILY_BATCHES, "batches"
    else:
        used, most, what = queries, selectors.DAILY_QUERY_JOBS, "query jobs"
    if used >= most:
        raise ApiError(
            400,
            "LIMIT_EXCEEDED",
            f"Max bulk v2 {what} ({most}) per 24 hrs has been reached ({used})",
        )


RUN_TASK = "tandem.crm.bulk.run"


def _enqueue(job_id: str) -> None:
    """Hand the job to a CRM worker once this transaction commits. A broker that cannot be
    reached loses nothing: the job stays UploadComplete and a worker resumes it on start. The
    task is found by name in Celery's registry (the app registers it when ready)."""
    task = current_app.tasks[RUN_TASK]
    transaction.on_commit(lambda: task.delay(job_id), robust=True)


def ingest_job_create(*, principal: ApiPrincipal, version: str, body: Any) -> BulkJob:
    """A new ingest job, Open for its upload."""
    options = _options(body, INGEST_KEYS)
    name = body.get("object")
    if not name:
        raise invalid_job("The object of the job is required")
    sobject = REGISTRY.get(name)
    if sobject is None:
        raise ApiError(400, "INVALIDJOB", f"InvalidJob : Unable to find object: {name[:80]}")
    operation = body.get("operation")
    if operation not in INGEST_OPERATIONS:
        raise invalid_job(f"Invalid operation: {str(operation)[:40]}")
    allowed = {
        "insert": sobject.createable,
        "upsert": sobject.createable,
        "update": sobject.updateable,
        "delete": sobject.deletable,
        "hardDelete": sobject.deletable,
    }
    if not allowed[operation]:
        raise invalid_job(f"Entity '{sobject.name}' is not supported by the {operation} operation")
    if operation == "hardDelete" and not user_may_bulk_hard_delete(user=principal.user):
        raise ApiError(
            400,
            "FEATURENOTENABLED",
            "FeatureNotEnabled : hardDelete operation requires special user profile permission, "
            "please contact your system administrator",
        )
    external = body.get("externalIdFieldName") or ""
    if operation == "upsert":
        field = sobject.field(external) if external else None
        if field is None or not (field.external_id or field.name == "Id"):
            raise invalid_job(
                f"External ID field not found or not an external ID: {external[:80]}"
                if external
                else "externalIdFieldName is required for upsert"
            )
        external = field.name
    elif external:
        raise invalid_job("externalIdFieldName is only allowed for upsert")
    _refuse_over_quota(principal, JobType.INGEST)
    return BulkJob.objects.create(
        org=principal.org,
        created_by=principal.user,
        connected_app_name=principal.connected_app_name or "",
        job_type=JobType.INGEST,
        operation=operation,
        object=sobject.name,
        external_id_field_name=external,
        api_version=version,
        **options,
    )


def query_job_create(*, principal: ApiPrincipal, version: str, body: Any) -> BulkJob:
    """A new query job; its SOQL is checked now (its errors are the REST API's) and the job
    goes straight to UploadComplete, for a worker to run."""
    options = _options(body, QUERY_KEYS)
    operation = body.get("operation") or "query"
    if operation not in QUERY_OPERATIONS:
        raise invalid_job(f"Invalid operation: {operation[:40]}")
    text = body.get("query")
    if not text:
        raise ApiError(400, "MALFORMED_QUERY", "A query string has to be specified")
    query = query_bind(text)
    if query.is_count:
        raise ApiError(
            400, "INVALIDJOB", "InvalidJob : COUNT() is not supported by Bulk API query jobs"
        )
    if query.children:  # a CSV row has no place for a list of child records
        raise ApiError(
            400,
            "INVALIDJOB",
            "InvalidJob : Bulk API query jobs do not support child relationship subqueries",
        )
    _refuse_over_quota(principal, JobType.QUERY)
    with transaction.atomic():
        job = BulkJob.objects.create(
            org=principal.org,
            created_by=principal.user,
            connected_app_name=principal.connected_app_name or "",
            job_type=JobType.QUERY,
            operation=operation,
            object=query.sobject.name,
            soql=text,
            api_version=version,
            state=JobState.UPLOAD_COMPLETE,
            **options,
        )
        _enqueue(job.pk)
    return job


def ingest_job_create_with_data(
    *, principal: ApiPrincipal, version: str, body: Any, data: IO[bytes]
) -> BulkJob:
    """A new ingest job with its CSV (multipart job creation), closed at once for a worker to
    run: the job, its upload and its state change commit together or not at all."""
    limit = settings.CRM_BULK_UPLOAD_MAX_BYTES
    with transaction.atomic():
        job = ingest_job_create(principal=principal, version=version, body=body)
        content = _read_at_most(data, limit)
        BulkUpload.objects.create(job=job, data=content, size=len(content))
        _set_state(job, from_states=(JobState.OPEN,), to=JobState.UPLOAD_COMPLETE)
        _enqueue(job.pk)
    return job


def job_of(principal: ApiPrincipal, job_type: str, job_id: str) -> BulkJob:
    """The caller's org's job of this type, or NOT_FOUND (another org's job does not exist)."""
    found = BulkJob.objects.filter(pk=job_id[:18], org=principal.org, job_type=job_type).first()
    if found is None:
        raise not_found()
    return found


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, "InvalidBatch", f"InvalidBatch : The upload exceeds {limit // (1024 * 1024)} MB"
    )


def _read_at_most(stream: IO[bytes], limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while chunk := stream.read(READ_SIZE):
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


def upload_put(
    *, principal: ApiPrincipal, job_id: str, stream: IO[bytes], declared_length: int | None
) -> None:
    """Keep the CSV of an Open ingest job (one upload per job). A body over the limit is
    refused before it is read when its length is declared, else as soon as it passes it."""
    job = job_of(principal, JobType.INGEST, job_id)
    limit = settings.CRM_BULK_UPLOAD_MAX_BYTES
    if job.state != JobState.OPEN:
        raise invalid_state(f"Job {job.pk} is {job.state}: data can be uploaded only while Open")
    if declared_length is not None and declared_length > limit:
        raise too_large(limit)
    data = _read_at_most(stream, limit)
    try:
        with transaction.atomic():
            locked = BulkJob.objects.select_for_update().filter(pk=job.pk, state=JobState.OPEN)
            if not locked.exists():
                raise invalid_state(f"Job {job.pk} is no longer Open")
            BulkUpload.objects.create(job=job, data=data, size=len(data))
    except IntegrityError:
        raise ApiError(
            400,
            "BULK_API_ERROR",
            f"Found multiple contents for job: <{job.pk}>. Upload the data of a job in one "
            "request; create another job for more data.",
        ) from None


def _set_state(job: BulkJob, *, from_states: tuple[str, ...], to: str, **extra: Any) -> bool:
    """Move the job from one of `from_states` to `to`, if no one moved it first."""
    now = timezone.now()
    moved = BulkJob.objects.filter(pk=job.pk, state__in=from_states).update(
        state=to, system_modstamp=now, **extra
    )
    if moved:
        job.refresh_from_db()
    return bool(moved)


def job_set_state(*, principal: ApiPrincipal, job_type: str, job_id: str, body: Any) -> BulkJob:
    """PATCH a job: UploadComplete closes an Open ingest job (a worker then runs it), Aborted
    stops a job that has not finished (rows already committed stay; the rest are unprocessed)."""
    job = job_of(principal, job_type, job_id)
    if not isinstance(body, dict) or set(body) - {"state"}:
        raise ApiError(400, "JSON_PARSER_ERROR", 'The body must be {"state": …}')
    wanted = body.get("state")
    if wanted == JobState.ABORTED:
        pending = (JobState.OPEN, JobState.UPLOAD_COMPLETE, JobState.IN_PROGRESS)
        if not _set_state(job, from_states=pending, to=JobState.ABORTED):
            job.refresh_from_db()
            raise invalid_state(f"Aborting already {job.state} Job not allowed")
        return job
    if wanted == JobState.UPLOAD_COMPLETE and job_type == JobType.INGEST:
        with transaction.atomic():
            if not _set_state(job, from_states=(JobState.OPEN,), to=JobState.UPLOAD_COMPLETE):
                job.refresh_from_db()
                raise invalid_state(f"Job {job.pk} is {job.state}: only an Open job can close")
            _enqueue(job.pk)
        return job
    raise invalid_state(f"Invalid state transition to: {str(wanted)[:40]}")


def job_delete(*, principal: ApiPrincipal, job_type: str, job_id: str) -> None:
    """Delete a job that is closed or finished, with its data and results."""
    job = job_of(principal, job_type, job_id)
    deletable = (JobState.UPLOAD_COMPLETE, *FINISHED_STATES)
    with transaction.atomic():
        deleted, _ = BulkJob.objects.filter(pk=job.pk, state__in=deletable).delete()
    if not deleted:
        raise invalid_state(f"Job {job.pk} is {job.state}: abort it before deleting it")
