"""Connect's Bulk API 2.0 client: large audiences read by a query job, large write-backs of
IndividualEmailResults sent as one upsert job.

Every HTTP call goes through `services.crm_call` (the connection's system user, a fresh token
after a 401, the retries of `HttpCrmClient`) and is counted as a Bulk call, which always
counts against the CRM's daily limit, connected app or not. A job that fails, or is still
running after CONNECT_BULK_WAIT_SECONDS, raises a `CrmError` like any refused REST call; a
job still running is a 504, so the callers wait and try again as after an outage.
"""

from __future__ import annotations

import csv
import io
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, cast, runtime_checkable

from django.conf import settings

from tandem.engagement.connect import services, tokens
from tandem.engagement.connect.client import (
    API_VERSION,
    CrmClient,
    CrmError,
    CrmResult,
    CrmToken,
    HttpCrmClient,
    usage_from,
)
from tandem.engagement.connect.models import ApiFamily, CrmConnection

DONE = "JobComplete"
ENDED = frozenset({DONE, "Failed", "Aborted"})
# Seconds between job polls: a quarter of the time waited so far, within these bounds (a job
# that ends is noticed within a quarter of its time, with few polls for a long one).
FIRST_POLL, LAST_POLL = 0.2, 5.0
STILL_RUNNING = 504  # transient for the callers: they try again later


@dataclass(frozen=True)
class Page:
    """One page of a query job's results and the locator of the next (None after the last):
    `text`, the CSV as the CRM sent it (parsed only when read), or else `rows`."""

    rows: list[dict[str, str]]
    locator: str | None
    text: str | None = None

    def records(self) -> list[dict[str, str]]:
        return self.rows if self.text is None else read_csv(self.text)

    def table(self) -> tuple[list[str], Iterable[list[str]]]:
        """The header and the rows as lists of values, parsed as they are read (no dict per
        row); a value keeps its line breaks (CR LF included)."""
        if self.text is None:
            header = list(self.rows[0]) if self.rows else []
            return header, ([row.get(name, "") for name in header] for row in self.rows)
        reader = csv.reader(io.StringIO(self.text.removeprefix("\ufeff"), newline=""))
        return next(reader, []), reader


@runtime_checkable
class BulkApi(Protocol):
    """What Connect needs of the CRM's Bulk API 2.0; each `data` is the CRM's answer."""

    def bulk_query_create(self, *, token: CrmToken, soql: str) -> CrmResult: ...
    def bulk_job_get(self, *, token: CrmToken, kind: str, job_id: str) -> CrmResult: ...
    def bulk_query_page(
        self, *, token: CrmToken, job_id: str, locator: str | None, max_records: int | None
    ) -> CrmResult: ...
    def bulk_upsert_create(self, *, token: CrmToken, sobject: str, field: str) -> CrmResult: ...
    def bulk_upload(self, *, token: CrmToken, job_id: str, body: str) -> CrmResult: ...
    def bulk_close(self, *, token: CrmToken, job_id: str) -> CrmResult: ...
    def bulk_ingest_results(self, *, token: CrmToken, job_id: str, kind: str) -> CrmResult: ...


def read_csv(text: str) -> list[dict[str, str]]:
    """The rows of a Bulk CSV (RFC 4180; a byte-order mark allowed) by header name."""
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def write_csv(rows: Sequence[dict[str, str]]) -> str:
    """An upload: LF line endings, every value quoted, every row's keys in the header (a row
    without one of them leaves it empty: unset on a create, unchanged on an update)."""
    columns = list(dict.fromkeys(name for row in rows for name in row))
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=columns, restval="", quoting=csv.QUOTE_ALL, lineterminator="\n"
    )
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


class HttpBulkApi:
    """The Bulk API 2.0 over the HTTP client's session, retries and error mapping."""

    def __init__(self, client: HttpCrmClient) -> None:
        self.client = client

    def _url(self, token: CrmToken, path: str) -> str:
        return f"{token.instance_url}/services/data/{API_VERSION}/jobs/{path}"

    def _json(self, token: CrmToken, method: str, path: str, **kwargs: Any) -> CrmResult:
        response = self.client._rest(token, method, self._url(token, path), **kwargs)
        try:
            data = response.json() if response.content else {}
        except ValueError:
            data = {}
        return CrmResult(data, usage_from(response.headers))

    def bulk_query_create(self, *, token: CrmToken, soql: str) -> CrmResult:
        return self._json(token, "POST", "query", json={"operation": "query", "query": soql})

    def bulk_job_get(self, *, token: CrmToken, kind: str, job_id: str) -> CrmResult:
        return self._json(token, "GET", f"{kind}/{job_id}")

    def bulk_query_page(
        self, *, token: CrmToken, job_id: str, locator: str | None, max_records: int | None
    ) -> CrmResult:
        params = {"locator": locator} if locator else {}
        if max_records:
            params["maxRecords"] = str(max_records)
        response = self.client._rest(
            token,
            "GET",
            self._url(token, f"query/{job_id}/results"),
            params=params,
            headers={"Accept": "text/csv"},
        )
        following = response.headers.get("sforce-locator", "null")
        page = Page(
            [], None if following in ("", "null") else following, response.content.decode("utf-8")
        )
        return CrmResult(page, usage_from(response.headers))

    def bulk_upsert_create(self, *, token: CrmToken, sobject: str, field: str) -> CrmResult:
        job = {
            "object": sobject,
            "operation": "upsert",
            "externalIdFieldName": field,
            "contentType": "CSV",
            "lineEnding": "LF",
        }
        return self._json(token, "POST", "ingest", json=job)

    def bulk_upload(self, *, token: CrmToken, job_id: str, body: str) -> CrmResult:
        return self._json(
            token,
            "PUT",
            f"ingest/{job_id}/batches",
            content=body.encode(),
            headers={"Content-Type": "text/csv"},
        )

    def bulk_close(self, *, token: CrmToken, job_id: str) -> CrmResult:
        return self._json(token, "PATCH", f"ingest/{job_id}", json={"state": "UploadComplete"})

    def bulk_ingest_results(self, *, token: CrmToken, job_id: str, kind: str) -> CrmResult:
        response = self.client._rest(
            token,
            "GET",
            self._url(token, f"ingest/{job_id}/{kind}"),
            headers={"Accept": "text/csv"},
        )
        return CrmResult(read_csv(response.content.decode("utf-8")), usage_from(response.headers))


def bulk_api(client: CrmClient) -> BulkApi:
    """The Bulk API of a CRM client (a test's fake CRM implements it itself)."""
    if isinstance(client, HttpCrmClient):
        return HttpBulkApi(client)
    if isinstance(client, BulkApi):
        return client
    raise CrmError("not_supported", "this CRM client has no Bulk API")


def _call(connection: CrmConnection, call: Callable[[BulkApi, CrmToken], CrmResult]) -> Any:
    def run(client: CrmClient, token: CrmToken) -> CrmResult:
        return call(bulk_api(client), token)

    result = services.crm_call(connection, run, family=ApiFamily.BULK)
    return cast(CrmResult, result).data


# --- Jobs -----------------------------------------------------------------------------------

JOB_ID = re.compile(r"[A-Za-z0-9]{15,18}")


def _job_id(job: Any) -> str:
    """The id of a created job; it goes into URL paths, so it must be a record id."""
    job_id = str(job.get("id", "")) if isinstance(job, dict) else ""
    if not JOB_ID.fullmatch(job_id):
        raise CrmError("unknown_error", "the CRM's answer names no Bulk job id")
    return job_id


def job_wait(
    connection: CrmConnection,
    kind: str,
    job_id: str,
    *,
    expected: int | None = None,
    keep: Callable[[], None] | None = None,
    keep_every: float = LAST_POLL,
) -> dict[str, Any]:
    """Poll the job, with backoff, until it ends; its JSON when it completed. With the number
    of records `expected`, the next poll comes sooner when the job's progress says it ends
    sooner. `keep` is called after every poll of a job still running (a caller renews what it
    holds while it waits; an exception from it stops the wait), and polls are at most
    `keep_every` seconds apart (what the caller holds must not lapse between two)."""
    began = time.monotonic()
    deadline = began + settings.CONNECT_BULK_WAIT_SECONDS
    delay = FIRST_POLL
    while True:
        job = _call(
            connection, lambda api, token: api.bulk_job_get(token=token, kind=kind, job_id=job_id)
        )
        state = str(job.get("state", ""))
        if state == DONE:
            return cast(dict[str, Any], job)
        if state in ENDED:
            reason = job.get("errorMessage") or f"the job was {state.lower()}"
            raise CrmError("bulk_job_failed", f"Bulk {kind} job {job_id}: {reason}")
        if time.monotonic() + delay > deadline:
            raise CrmError(
                "bulk_job_running",
                f"Bulk {kind} job {job_id} is still {state or 'running'} after "
                f"{settings.CONNECT_BULK_WAIT_SECONDS} s",
                STILL_RUNNING,
            )
        if keep is not None:
            keep()
        time.sleep(min(delay, keep_every))
        delay = next_poll(time.monotonic() - began, job.get("numberRecordsProcessed"), expected)


def next_poll(waited: float, processed: Any, expected: int | None) -> float:
    """A quarter of the time waited, or, when the job's progress is known, the time it looks
    to need still if that is less; within FIRST_POLL and LAST_POLL."""
    delay = waited / 4
    if expected and isinstance(processed, int) and 0 < processed < expected:
        delay = min(delay, waited * (expected - processed) / processed)
    return min(max(FIRST_POLL, delay), LAST_POLL)


def bulk_query(
    connection: CrmConnection, soql: str, *, page_size: int | None = None
) -> Iterator[dict[str, str]]:
    """The rows of a SOQL query read by a Bulk query job, page by page (`Sforce-Locator`);
    parent fields come as columns named `Parent.Field`, every value as text ("" for none)."""
    for page in bulk_query_pages(connection, soql, page_size=page_size):
        yield from page.records()


def bulk_query_pages(
    connection: CrmConnection,
    soql: str,
    *,
    page_size: int | None = None,
    expected: int | None = None,
    keep: Callable[[], None] | None = None,
    keep_every: float = LAST_POLL,
) -> Iterator[Page]:
    """The result pages of a Bulk query job of `soql`, in order. While the caller uses one
    page the next is already being fetched (one request in flight on a thread that only does
    HTTP; the token and the counting stay on the caller's thread and database connection).
    `expected`: about how many records the query has; `keep`: called while the job runs and
    as each page arrives, `keep_every` seconds apart at most while the job runs (see
    `job_wait`)."""
    job = _call(connection, lambda api, token: api.bulk_query_create(token=token, soql=soql))
    job_id = _job_id(job)
    job_wait(connection, "query", job_id, expected=expected, keep=keep, keep_every=keep_every)

    def fetch(api: BulkApi, token: CrmToken, locator: str | None = None) -> CrmResult:
        return api.bulk_query_page(
            token=token, job_id=job_id, locator=locator, max_records=page_size
        )

    page = cast(Page, _call(connection, fetch))
    api = bulk_api(services.crm_client())
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-fetch") as pool:
        while True:
            ahead: Future[CrmResult] | None = None
            if page.locator is not None:
                token = services.connection_token(connection)
                ahead = pool.submit(fetch, api, token, page.locator)
            if keep is not None:
                keep()
            yield page
            if ahead is None or page.locator is None:
                return
            page = cast(Page, _ahead(connection, ahead, partial(fetch, locator=page.locator)))


def _ahead(
    connection: CrmConnection,
    ahead: Future[CrmResult],
    again: Callable[[BulkApi, CrmToken], CrmResult],
) -> Any:
    """A call made on the fetch thread, counted here; after a 401, made again with a new
    session (as `crm_call` does)."""
    try:
        result = ahead.result()
    except CrmError as exc:
        if exc.status != 401:
            raise
        tokens.tokens_forget(connection.account_id)
        return _call(connection, again)
    services.usage_record(
        connection.account_id, connection.system_username.lower(), family=ApiFamily.BULK
    )
    if result.usage is not None:
        services.limit_record(connection, result.usage.used, result.usage.limit)
    return result.data


@dataclass(frozen=True)
class UpsertOutcome:
    """A Bulk upsert's answer: record Ids by key; errors by key of the rows that failed."""

    ids: dict[str, str]
    errors: dict[str, str]


def bulk_upsert(
    connection: CrmConnection, sobject: str, field: str, rows: Sequence[dict[str, str]]
) -> UpsertOutcome:
    """Upsert `rows` (each with its `field` key) in one ingest job: create, upload, close,
    wait, then read which rows succeeded. Upserting by key makes a second run of the same
    rows update what the first created: a lost answer never makes a duplicate."""
    if not rows:
        return UpsertOutcome({}, {})
    body = write_csv(rows)
    job = _call(
        connection,
        lambda api, token: api.bulk_upsert_create(token=token, sobject=sobject, field=field),
    )
    job_id = _job_id(job)
    _call(connection, lambda api, token: api.bulk_upload(token=token, job_id=job_id, body=body))
    _call(connection, lambda api, token: api.bulk_close(token=token, job_id=job_id))
    job_wait(connection, "ingest", job_id)
    done = _call(
        connection,
        lambda api, token: api.bulk_ingest_results(
            token=token, job_id=job_id, kind="successfulResults"
        ),
    )
    failed: list[dict[str, str]] = []
    if len(done) < len(rows):  # some failed (or were never reached): say which and why
        failed = _call(
            connection,
            lambda api, token: api.bulk_ingest_results(
                token=token, job_id=job_id, kind="failedResults"
            ),
        )
    return UpsertOutcome(
        ids={row[field]: row["sf__Id"] for row in done if row.get(field) and row.get("sf__Id")},
        errors={row[field]: row.get("sf__Error", "") for row in failed if row.get(field)},
    )
