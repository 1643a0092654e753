"""Bulk API 2.0 reads: job info as Salesforce's JSON, job lists, ingest result CSVs and query
result pages."""

from __future__ import annotations

import base64
import binascii
import csv
import datetime as dt
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F, Q

from tandem.crm.api.errors import ApiError
from tandem.crm.api.serialize import format_datetime
from tandem.crm.bulk.csvio import DELIMITERS, LINE_ENDINGS, CsvProblem, document, lines, parse
from tandem.crm.bulk.models import (
    BulkJob,
    BulkQueryChunk,
    BulkRowResult,
    BulkUpload,
    JobState,
    JobType,
)
from tandem.crm.orgs.models import Org

LIST_LIMIT = 1000
DEFAULT_PAGE = 50_000
MAX_PAGE = 1_000_000
# Daily allocations: batches are shared with Bulk API 1.0; an ingest job of Bulk API 2.0 uses
# one batch per 10,000 records it processed (or part of them); query jobs use no batch.
DAILY_BATCHES = 15_000
BATCH_RECORDS = 10_000
DAILY_QUERY_JOBS = 10_000


def _version_number(version: str) -> float:
    return float(version)


def job_summary(job: BulkJob) -> dict[str, Any]:
    """What creating or closing a job answers."""
    body: dict[str, Any] = {
        "id": job.pk,
        "operation": job.operation,
        "object": job.object,
        "createdById": job.created_by_id,
        "createdDate": format_datetime(job.created_date),
        "systemModstamp": format_datetime(job.system_modstamp),
        "state": job.state,
    }
    if job.external_id_field_name:
        body["externalIdFieldName"] = job.external_id_field_name
    body.update(
        {
            "concurrencyMode": "Parallel",
            "contentType": "CSV",
            "apiVersion": _version_number(job.api_version),
        }
    )
    if job.job_type == JobType.INGEST:
        body["contentUrl"] = f"services/data/v{job.api_version}/jobs/ingest/{job.pk}/batches"
    body.update({"lineEnding": job.line_ending, "columnDelimiter": job.column_delimiter})
    return body


def job_info(job: BulkJob) -> dict[str, Any]:
    """GET of one job: the summary with its type and progress."""
    body = job_summary(job)
    body["jobType"] = job.job_type
    body["numberRecordsProcessed"] = job.records_processed
    if job.job_type == JobType.INGEST:
        body["numberRecordsFailed"] = job.records_failed
    body["retries"] = job.retries
    body["totalProcessingTime"] = job.processing_ms
    if job.job_type == JobType.INGEST:
        body["apiActiveProcessingTime"] = job.processing_ms
        body["apexProcessingTime"] = 0
    else:
        body["isPkChunkingSupported"] = False
    if job.error_message:
        body["errorMessage"] = job.error_message
    return body


# Filters of a job list: parameter → {accepted value (lower case): whether our jobs match it}.
# No job of ours is a Classic or Big Object job, serial, or PK-chunked.
LIST_FILTERS = {
    "isPkChunkingEnabled": {"true": False, "false": True},
    "concurrencyMode": {"parallel": True, "serial": False},
}
JOB_TYPES = ("Classic", "BigObjectIngest", JobType.INGEST, JobType.QUERY)


def _bad_locator() -> ApiError:
    return ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")


def _list_filters(params: Mapping[str, str]) -> dict[str, str]:
    """The filters of a job list request, checked; INVALIDPARAMETER for a value they lack."""
    chosen: dict[str, str] = {}
    for name, values in LIST_FILTERS.items():
        value = params.get(name)
        if value is not None:
            if value.lower() not in values:
                raise ApiError(400, "INVALIDPARAMETER", f"Invalid {name}: {value[:40]}")
            chosen[name] = value.lower()
    job_type = params.get("jobType")
    if job_type is not None:
        if job_type not in JOB_TYPES:
            raise ApiError(400, "INVALIDPARAMETER", f"Invalid jobType: {job_type[:40]}")
        chosen["jobType"] = job_type
    return chosen


def _list_locator(last: BulkJob, filters: dict[str, str]) -> str:
    """An opaque locator: the page's last job (created time and id) and the list's filters."""
    state = {"c": last.created_date.isoformat(), "i": last.pk, "f": filters}
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def _list_position(locator: str) -> tuple[dt.datetime, str, dict[str, str]]:
    try:
        raw = base64.urlsafe_b64decode(locator + "=" * (-len(locator) % 4))
        state = json.loads(raw)
        created = dt.datetime.fromisoformat(state["c"])
        pk, filters = str(state["i"]), _list_filters(state["f"])
    except (ValueError, TypeError, KeyError, AttributeError, binascii.Error, ApiError):
        raise _bad_locator() from None
    if created.tzinfo is None:
        raise _bad_locator()
    return created, pk, filters


def jobs_list(
    *, org: Org, job_type: str, version: str, params: Mapping[str, str]
) -> dict[str, Any]:
    """A page of the org's jobs of one type, newest first (by created time, then id), with
    the filters of the request or of its `queryLocator`."""
    jobs = BulkJob.objects.filter(org=org, job_type=job_type).order_by("-created_date", "-pk")
    locator = params.get("queryLocator")
    if locator is not None:
        created, pk, filters = _list_position(locator)
        jobs = jobs.filter(Q(created_date__lt=created) | Q(created_date=created, pk__lt=pk))
    else:
        filters = _list_filters(params)
    matching = all(
        LIST_FILTERS[name][value] for name, value in filters.items() if name in LIST_FILTERS
    )
    if not matching or filters.get("jobType", job_type) != job_type:
        jobs = jobs.none()
    size = settings.CRM_BULK_JOBS_PAGE_SIZE
    page = list(jobs[: size + 1])
    records = []
    for job in page[:size]:
        summary = job_summary(job)
        summary.pop("contentUrl", None)
        summary["jobType"] = job.job_type
        records.append(summary)
    more = len(page) > size
    kind = "ingest" if job_type == JobType.INGEST else "query"
    next_url = (
        (
            f"/services/data/v{version}/jobs/{kind}?queryLocator="
            f"{_list_locator(page[size - 1], filters)}"
        )
        if more
        else None
    )
    return {"done": not more, "records": records, "nextRecordsUrl": next_url}


def jobs_for_setup(*, org: Org) -> list[BulkJob]:
    """The org's jobs of both types, newest first, each with `progress` (a percentage)."""
    jobs = list(
        BulkJob.objects.filter(org=org)
        .select_related("created_by")
        .order_by("-created_date", "-pk")[:LIST_LIMIT]
    )
    for job in jobs:
        total = job.records_total
        job.progress = min(100, job.records_processed * 100 // total) if total else 0  # type: ignore[attr-defined]
    return jobs


def bulk_usage(*, org: Org, since: dt.datetime) -> tuple[int, int]:
    """Batches and query jobs the org used with the jobs it created since `since`."""
    recent = BulkJob.objects.filter(org=org, created_date__gte=since)
    processed = recent.filter(job_type=JobType.INGEST, records_processed__gt=0).values_list(
        "records_processed", flat=True
    )
    batches = sum(-(-count // BATCH_RECORDS) for count in processed)
    return batches, recent.filter(job_type=JobType.QUERY).count()


def bulk_limits(*, org: Org, since: dt.datetime) -> dict[str, Any]:
    """The `limits` entries of Bulk API 2.0, over the org's jobs created since `since`:
    DailyBulkApiBatches and DailyBulkV2QueryJobs."""
    batches, queries = bulk_usage(org=org, since=since)
    return {
        "DailyBulkApiBatches": {"Max": DAILY_BATCHES, "Remaining": max(DAILY_BATCHES - batches, 0)},
        "DailyBulkV2QueryJobs": {
            "Max": DAILY_QUERY_JOBS,
            "Remaining": max(DAILY_QUERY_JOBS - queries, 0),
        },
    }


# --- ingest results --------------------------------------------------------------------------


def _upload_table(job: BulkJob) -> tuple[list[str], list[list[str]]] | None:
    upload = BulkUpload.objects.filter(job=job).first()
    if upload is None:
        return None
    try:
        table = parse(bytes(upload.data), job.column_delimiter)
    except CsvProblem:
        return None
    return table.header, table.rows


def ingest_results(job: BulkJob, *, successful: bool) -> str:
    """successfulResults (sf__Id, sf__Created, the row) or failedResults (sf__Id, sf__Error,
    the row), in upload order."""
    read = _upload_table(job)
    header, rows = read if read else ([], [])
    second = "sf__Created" if successful else "sf__Error"
    results = (
        BulkRowResult.objects.filter(job=job, success=successful)
        .order_by("row")
        .values_list("row", "record_id", "created", "error")
    )
    out = (
        [
            record_id,
            ("true" if created else "false") if successful else error,
            *(rows[row] if row < len(rows) else []),
        ]
        for row, record_id, created, error in results.iterator(chunk_size=5000)
    )
    return document(["sf__Id", second, *header], out, job.column_delimiter, job.line_ending)


def unprocessed_records(job: BulkJob) -> bytes:
    """The uploaded rows no run has processed (all of them, as uploaded, when the upload
    itself could not be read)."""
    read = _upload_table(job)
    if read is None:
        upload = BulkUpload.objects.filter(job=job).first()
        return bytes(upload.data) if upload else b""
    header, rows = read
    pending = [] if job.state == JobState.JOB_COMPLETE else rows[job.records_processed :]
    text = document(header, pending, job.column_delimiter, job.line_ending)
    return text.encode()


# --- query results ---------------------------------------------------------------------------


def _locator(position: int) -> str:
    return base64.b64encode(str(position).encode()).decode().rstrip("=")


def _position(locator: str, total: int) -> int:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        text = ""
    if not text.isdigit() or int(text) > total:
        raise ApiError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    return int(text)


def _page_size(text: str | None) -> int:
    if text is None or text == "":
        return DEFAULT_PAGE
    if not text.isdigit() or not 0 < int(text) <= MAX_PAGE:
        raise ApiError(400, "INVALIDPARAMETER", f"maxRecords must be 1 to {MAX_PAGE:,}")
    return int(text)


@dataclass(frozen=True)
class ResultsPage:
    csv: str
    count: int
    locator: str  # "null" on the last page, as Salesforce says it


def query_results(job: BulkJob, *, locator: str | None, max_records: str | None) -> ResultsPage:
    """`maxRecords` rows of a finished query job from the locator's position, as CSV."""
    if job.state != JobState.JOB_COMPLETE:
        raise ApiError(
            400, "INVALIDJOBSTATE", f"Job {job.pk} is {job.state}: results are not available"
        )
    size = _page_size(max_records)
    total = job.records_processed
    start = _position(locator, total) if locator else 0
    end = min(start + size, total)
    chunks = (
        BulkQueryChunk.objects.filter(job=job, first_row__lt=end)
        .filter(first_row__gt=start - F("row_count"))
        .order_by("first_row")
    )
    ending = LINE_ENDINGS[job.line_ending]
    pieces: list[str] = [job.csv_header + ending]
    count = 0
    for chunk in chunks:
        lo = max(start - chunk.first_row, 0)
        hi = min(end - chunk.first_row, chunk.row_count)
        count += hi - lo
        if chunk.text and ending == "\n" and (lo, hi) == (0, chunk.row_count):
            pieces.append(chunk.text)  # a whole chunk as PostgreSQL wrote it
            continue
        selected = _chunk_lines(chunk, job.column_delimiter)[lo:hi]
        pieces.extend(line + ending for line in selected)
    next_locator = _locator(end) if end < total else "null"
    return ResultsPage("".join(pieces), count, next_locator)


def _chunk_lines(chunk: BulkQueryChunk, delimiter: str) -> list[str]:
    """A chunk's CSV lines without their endings."""
    if not chunk.text:
        return list(chunk.lines)
    if chunk.text.count("\n") == chunk.row_count:  # no value holds a line break
        return chunk.text[:-1].split("\n")
    reader = csv.reader(io.StringIO(chunk.text, newline=""), delimiter=DELIMITERS[delimiter])
    return list(lines(reader, delimiter))  # every value quoted, as written
