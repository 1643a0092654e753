"""Connect's Bulk API 2.0 client over HTTP (a mock transport playing the CRM's Bulk API):
query jobs polled and paged by locator, upsert jobs uploaded as CSV, errors as CrmError, and
every call counted as a Bulk call against the CRM's limit."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tandem.engagement.connect import bulk, tokens
from tandem.engagement.connect.client import CrmError, HttpCrmClient
from tandem.engagement.connect.models import ApiCallDay, CrmConnection

pytestmark = pytest.mark.usefixtures("legacy")

TOKEN = {
    "access_token": "00D!bulk",
    "instance_url": "https://acme.my.crm.test",
    "id": "https://crm.test/id/00D000000000001AAA/005000000000001AAA",
}
JOBS = "/services/data/v62.0/jobs/"


@dataclass
class BulkCrm:
    """The CRM's Bulk API in memory: one query job whose results come in pages of `page`,
    one ingest job that upserts by `TrackingKey`; `running` polls say InProgress first."""

    rows: list[dict[str, str]] = field(default_factory=list)
    page: int = 2
    running: int = 1
    fail_create: tuple[int, list[dict[str, str]]] | None = None
    job_state: str = "JobComplete"
    seen: list[str] = field(default_factory=list)
    uploads: list[tuple[str, str]] = field(default_factory=list)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    stored: dict[str, str] = field(default_factory=dict)  # key → id: the CRM's records

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.seen.append(f"{request.method} {path.removeprefix(JOBS)}")
        if path == "/services/oauth2/token":
            return httpx.Response(200, json=TOKEN)
        assert request.headers["authorization"] == "Bearer 00D!bulk"
        if request.method == "POST":
            if self.fail_create:
                return httpx.Response(self.fail_create[0], json=self.fail_create[1])
            self.jobs.append(json.loads(request.content))
            return httpx.Response(200, json={"id": "750000000000001AAA", "state": "Open"})
        if path.endswith("/batches"):
            self.uploads.append((request.headers["content-type"], request.content.decode()))
            return httpx.Response(201)
        if request.method == "PATCH":
            return httpx.Response(200, json={"id": "750000000000001AAA", "state": "UploadComplete"})
        if path.endswith("/results"):
            return self._page(request)
        if path.endswith("Results"):
            return self._ingest_results(path.rsplit("/", 1)[-1])
        self.running -= 1
        state = "InProgress" if self.running >= 0 else self.job_state
        return httpx.Response(
            200,
            json={
                "id": "750000000000001AAA",
                "state": state,
                "errorMessage": "InvalidBatch : broken",
            },
        )

    def _page(self, request: httpx.Request) -> httpx.Response:
        start = int(request.url.params.get("locator") or 0)
        rows = self.rows[start : start + self.page]
        following = str(start + self.page) if start + self.page < len(self.rows) else "null"
        return httpx.Response(
            200, content=_csv(rows).encode(), headers={"Sforce-Locator": following}
        )

    def _ingest_results(self, kind: str) -> httpx.Response:
        uploaded = list(csv.DictReader(io.StringIO(self.uploads[-1][1])))
        good = [row for row in uploaded if row["Name"] != "bad"]
        if kind == "failedResults":
            rows = [
                {"sf__Id": "", "sf__Error": "REQUIRED_FIELD_MISSING:no:Name --", **row}
                for row in uploaded
                if row["Name"] == "bad"
            ]
            return httpx.Response(200, content=_csv(rows).encode())
        done = []
        for row in good:
            created = row["TrackingKey"] not in self.stored
            self.stored.setdefault(row["TrackingKey"], f"a0E{len(self.stored):015d}")
            done.append(
                {"sf__Id": self.stored[row["TrackingKey"]], "sf__Created": str(created), **row}
            )
        return httpx.Response(200, content=_csv(done).encode())


def _csv(rows: list[dict[str, str]]) -> str:
    if not rows:
        return "\n"
    out = io.StringIO()
    writer = csv.DictWriter(out, list(rows[0]), quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@pytest.fixture
def server(settings: Any, monkeypatch: pytest.MonkeyPatch, legacy: CrmConnection) -> BulkCrm:
    crm = BulkCrm()
    settings.CONNECT_CRM_CLIENT = lambda: HttpCrmClient(
        consumer_key="k", transport=httpx.MockTransport(crm), retries=1
    )
    monkeypatch.setattr(bulk.time, "sleep", lambda seconds: None)  # polls without waiting
    tokens.tokens_forget(legacy.account_id)
    return crm


def test_a_query_job_is_polled_until_complete_then_read_page_by_page(
    server: BulkCrm, legacy: CrmConnection
) -> None:
    server.rows = [{"Id": f"003{i:015d}", "Contact.Email": f"p{i}@acme.test"} for i in range(5)]

    rows = list(bulk.bulk_query(legacy, "SELECT Id, Contact.Email FROM CampaignMember"))

    assert rows == server.rows
    assert server.jobs == [
        {"operation": "query", "query": "SELECT Id, Contact.Email FROM CampaignMember"}
    ]
    assert [s for s in server.seen if s.startswith("GET")] == [
        "GET query/750000000000001AAA",  # InProgress
        "GET query/750000000000001AAA",  # JobComplete
        "GET query/750000000000001AAA/results",
        "GET query/750000000000001AAA/results",  # locator 2
        "GET query/750000000000001AAA/results",  # locator 4, the last page
    ]


def test_every_bulk_call_counts_against_the_crm_limit_as_a_bulk_call(
    server: BulkCrm, legacy: CrmConnection
) -> None:
    server.rows = [{"Id": "1"}]

    list(bulk.bulk_query(legacy, "SELECT Id FROM Contact"))

    bulk_calls = ApiCallDay.objects.get(account_id=legacy.account_id, api_family="bulk")
    assert (bulk_calls.calls, bulk_calls.counts_against_limit) == (
        4,
        True,
    )  # create, 2 polls, 1 page


def test_a_failed_job_is_a_crm_error_with_its_message(
    server: BulkCrm, legacy: CrmConnection
) -> None:
    server.job_state = "Failed"

    with pytest.raises(CrmError) as raised:
        list(bulk.bulk_query(legacy, "SELECT Id FROM Contact"))

    assert raised.value.code == "bulk_job_failed"
    assert "InvalidBatch : broken" in raised.value.message


def test_a_job_still_running_after_the_wait_is_transient(
    server: BulkCrm, legacy: CrmConnection, settings: Any
) -> None:
    settings.CONNECT_BULK_WAIT_SECONDS = 1
    server.running = 10**6

    with pytest.raises(CrmError) as raised:
        list(bulk.bulk_query(legacy, "SELECT Id FROM Contact"))

    assert (raised.value.code, raised.value.status) == ("bulk_job_running", 504)


def test_a_refused_job_is_the_crms_error_code(server: BulkCrm, legacy: CrmConnection) -> None:
    server.fail_create = (
        400,
        [{"errorCode": "LIMIT_EXCEEDED", "message": "Max bulk v2 query jobs (10000)"}],
    )

    with pytest.raises(CrmError) as raised:
        list(bulk.bulk_query(legacy, "SELECT Id FROM Contact"))

    assert (raised.value.code, raised.value.status) == ("LIMIT_EXCEEDED", 400)


def test_an_upsert_job_uploads_csv_and_reads_ids_and_errors_by_key(
    server: BulkCrm, legacy: CrmConnection
) -> None:
    rows = [
        {"Name": "ok", "TrackingKey": "1:1"},
        {"Name": 'with "quotes", comma', "TrackingKey": "1:2"},
        {"Name": "bad", "TrackingKey": "1:3"},
    ]

    outcome = bulk.bulk_upsert(legacy, "Thing__c", "TrackingKey", rows)

    assert server.jobs == [
        {
            "object": "Thing__c",
            "operation": "upsert",
            "externalIdFieldName": "TrackingKey",
            "contentType": "CSV",
            "lineEnding": "LF",
        }
    ]
    content_type, body = server.uploads[0]
    assert content_type == "text/csv"
    assert list(csv.DictReader(io.StringIO(body))) == rows
    assert "PATCH ingest/750000000000001AAA" in server.seen
    assert outcome.ids == {"1:1": server.stored["1:1"], "1:2": server.stored["1:2"]}
    assert outcome.errors == {"1:3": "REQUIRED_FIELD_MISSING:no:Name --"}


def test_an_upsert_run_again_gets_the_same_ids(server: BulkCrm, legacy: CrmConnection) -> None:
    rows = [{"Name": "ok", "TrackingKey": "1:1"}]

    first = bulk.bulk_upsert(legacy, "Thing__c", "TrackingKey", rows)
    again = bulk.bulk_upsert(legacy, "Thing__c", "TrackingKey", rows)

    assert first.ids == again.ids
    assert len(server.stored) == 1


def test_a_job_answer_without_a_job_id_is_refused_before_any_url_uses_it(
    server: BulkCrm, legacy: CrmConnection
) -> None:
    server.fail_create = (200, {"id": "../../sobjects/Contact"})  # type: ignore[assignment]

    with pytest.raises(CrmError) as raised:
        list(bulk.bulk_query(legacy, "SELECT Id FROM Contact"))

    assert raised.value.code == "unknown_error"
    assert [s for s in server.seen if s.startswith("GET")] == []


def test_query_pages_give_rows_as_lists_with_values_kept_whole(
    server: BulkCrm, legacy: CrmConnection
) -> None:
    """Line breaks (CR LF too), quotes, delimiters and non-ASCII text stay inside their value."""
    values = ['say "hi", then\r\nbye', "", "Zoë 日本", "line\nbreak", "a,b", '"']
    server.rows = [{"Id": f"003{i:015d}", "Name": value} for i, value in enumerate(values)]

    pages = list(bulk.bulk_query_pages(legacy, "SELECT Id, Name FROM Contact"))

    assert len(pages) == 3  # pages of 2
    tables = [page.table() for page in pages]
    assert all(header == ["Id", "Name"] for header, _ in tables)
    assert [row for _, rows in tables for row in rows] == [list(r.values()) for r in server.rows]
    bulk_calls = ApiCallDay.objects.get(account_id=legacy.account_id, api_family="bulk")
    assert bulk_calls.calls == 6  # create, 2 polls, 3 pages (two read ahead, counted too)


def test_the_next_poll_comes_sooner_when_the_jobs_progress_says_it_ends_sooner() -> None:
    assert bulk.next_poll(4.0, None, None) == 1.0  # a quarter of the time waited
    assert bulk.next_poll(4.0, 900_000, 1_000_000) == pytest.approx(4 * 100_000 / 900_000)
    assert bulk.next_poll(4.0, 100_000, 1_000_000) == 1.0  # far from done: the quarter
    assert bulk.next_poll(0.1, None, None) == bulk.FIRST_POLL
    assert bulk.next_poll(60.0, 0, 1_000_000) == bulk.LAST_POLL
