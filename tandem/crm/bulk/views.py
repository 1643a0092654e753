"""Bulk API 2.0 resources under /services/data/vXX.X/jobs/: each view parses its request and
calls one service (`services.py`) or selector (`selectors.py`). Every call is metered as a
Bulk call, which counts against the daily limit even for exempt connected apps."""

from __future__ import annotations

import io
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError

from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.endpoint import (
    api_endpoint,
    json_body,
    json_parsed,
    json_response,
    set_family,
)
from tandem.crm.api.errors import ApiError, not_found
from tandem.crm.bulk import selectors, services
from tandem.crm.bulk.models import JobType

FIRST_VERSION = 41.0  # Bulk API 2.0 exists from API version 41.0
CSV = "text/csv"
MULTIPART = "multipart/form-data"
FRAMING = 1024 * 1024  # room for the job part and the multipart boundaries


def _begin(request: HttpRequest, version: str, *methods: str) -> None:
    set_family(request, "bulk")
    if float(version) < FIRST_VERSION:
        raise not_found()
    if request.method not in methods:
        raise ApiError(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(methods)}",
        )


def _jobs(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_type: str
) -> HttpResponse:
    _begin(request, version, "GET", "POST")
    if request.method == "GET":
        return json_response(
            selectors.jobs_list(
                org=principal.org, job_type=job_type, version=version, params=request.GET
            )
        )
    if job_type == JobType.INGEST and request.content_type == MULTIPART:
        body, data = _multipart(request)
        job = services.ingest_job_create_with_data(
            principal=principal, version=version, body=body, data=data
        )
        return json_response(selectors.job_summary(job))
    create = services.ingest_job_create if job_type == JobType.INGEST else services.query_job_create
    job = create(principal=principal, version=version, body=json_body(request))
    return json_response(selectors.job_summary(job))


def _multipart(request: HttpRequest) -> tuple[Any, IO[bytes]]:
    """The job properties (part `job`, JSON) and the CSV (part `content`, text/csv) of a
    multipart job creation, as Django parses them. A `content` part sent as a plain form field
    (no filename, hence no type of its own) is taken as the CSV."""
    limit = settings.CRM_BULK_UPLOAD_MAX_BYTES
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > limit + FRAMING:
        raise services.too_large(limit)
    try:
        fields, files = request.POST, request.FILES
    except RequestDataTooBig:
        raise services.too_large(limit) from None
    except MultiPartParserError as error:
        raise services.invalid_job(
            f"The multipart body cannot be read: {str(error)[:120]}"
        ) from None
    job = files.get("job")
    text = job.read() if job is not None else fields.get("job")
    if text is None:
        raise services.invalid_job("The multipart request has no part named job")
    content = files.get("content")
    if content is None and "content" not in fields:
        raise services.invalid_job("The multipart request has no part named content")
    if content is not None and content.content_type != CSV:
        raise services.invalid_job(
            f"The content part must be text/csv, not {str(content.content_type)[:60]}"
        )
    data = content if content is not None else io.BytesIO(fields["content"].encode())
    return json_parsed(text), data


def _job(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_type: str, job_id: str
) -> HttpResponse:
    _begin(request, version, "GET", "PATCH", "DELETE")
    if request.method == "GET":
        return json_response(selectors.job_info(services.job_of(principal, job_type, job_id)))
    if request.method == "DELETE":
        services.job_delete(principal=principal, job_type=job_type, job_id=job_id)
        return HttpResponse(status=204)
    job = services.job_set_state(
        principal=principal, job_type=job_type, job_id=job_id, body=json_body(request)
    )
    return json_response(selectors.job_summary(job))


@api_endpoint
def ingest_jobs_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    """GET: the org's ingest jobs; POST: create one."""
    return _jobs(request, principal, version, JobType.INGEST)


@api_endpoint
def ingest_job_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_id: str
) -> HttpResponse:
    """GET: job info; PATCH: UploadComplete or Aborted; DELETE."""
    return _job(request, principal, version, JobType.INGEST, job_id)


@api_endpoint
def ingest_batches_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_id: str
) -> HttpResponse:
    """PUT the job's CSV (streamed bodies, chunked or not)."""
    _begin(request, version, "PUT")
    length = request.META.get("CONTENT_LENGTH")
    services.upload_put(
        principal=principal,
        job_id=job_id,
        stream=request,  # type: ignore[arg-type]
        declared_length=int(length) if length and length.isdigit() else None,
    )
    return HttpResponse(status=201)


def _csv(text: str | bytes) -> HttpResponse:
    return HttpResponse(text, content_type=CSV)


@api_endpoint
def ingest_successful_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_id: str
) -> HttpResponse:
    _begin(request, version, "GET")
    job = services.job_of(principal, JobType.INGEST, job_id)
    return _csv(selectors.ingest_results(job, successful=True))


@api_endpoint
def ingest_failed_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_id: str
) -> HttpResponse:
    _begin(request, version, "GET")
    job = services.job_of(principal, JobType.INGEST, job_id)
    return _csv(selectors.ingest_results(job, successful=False))


@api_endpoint
def ingest_unprocessed_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_id: str
) -> HttpResponse:
    _begin(request, version, "GET")
    job = services.job_of(principal, JobType.INGEST, job_id)
    return _csv(selectors.unprocessed_records(job))


@api_endpoint
def query_jobs_view(request: HttpRequest, principal: ApiPrincipal, version: str) -> HttpResponse:
    """GET: the org's query jobs; POST: create one."""
    return _jobs(request, principal, version, JobType.QUERY)


@api_endpoint
def query_job_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_id: str
) -> HttpResponse:
    """GET: job info; PATCH: Aborted; DELETE."""
    return _job(request, principal, version, JobType.QUERY, job_id)


@api_endpoint
def query_results_view(
    request: HttpRequest, principal: ApiPrincipal, version: str, job_id: str
) -> HttpResponse:
    """A page of a finished query job's rows: `locator` and `maxRecords`; the next locator
    (or "null") and the page's row count are in headers."""
    _begin(request, version, "GET")
    job = services.job_of(principal, JobType.QUERY, job_id)
    page = selectors.query_results(
        job, locator=request.GET.get("locator"), max_records=request.GET.get("maxRecords")
    )
    response = _csv(page.csv)
    response["Sforce-Locator"] = page.locator
    response["Sforce-NumberOfRecords"] = str(page.count)
    return response
