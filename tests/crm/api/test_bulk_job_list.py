"""Bulk API 2.0 job lists (`GET jobs/ingest`, `GET jobs/query`): pages of at most
CRM_BULK_JOBS_PAGE_SIZE jobs, newest first, linked by `nextRecordsUrl` with an opaque
`queryLocator`; the filters isPkChunkingEnabled, jobType and concurrencyMode."""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import override_settings

from tandem.crm.bulk.models import BulkJob
from tests.crm.api.conftest import Api, V

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("small_pages")]

WHEN = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def small_pages() -> Any:
    with override_settings(CRM_BULK_JOBS_PAGE_SIZE=2):
        yield


def _ingest_jobs(api: Api, count: int, *, same_time: bool = False) -> list[str]:
    """`count` Open ingest jobs, the newest first; all created at one instant if `same_time`."""
    made = [
        api.post("/jobs/ingest", {"object": "Contact", "operation": "insert"}).json()["id"]
        for _ in range(count)
    ]
    for index, job_id in enumerate(made):
        moment = WHEN if same_time else WHEN + dt.timedelta(minutes=index)
        BulkJob.objects.filter(pk=job_id).update(created_date=moment)
    if same_time:
        return sorted(made, reverse=True)  # ties: the larger id first
    return made[::-1]


def _locator(url: str) -> str:
    parts = urlsplit(url)
    assert parts.path == f"{V}/jobs/ingest"
    [locator] = parse_qs(parts.query)["queryLocator"]
    return locator


def _all_pages(api: Api, path: str) -> tuple[list[str], list[dict[str, Any]]]:
    ids: list[str] = []
    pages = []
    body = api.get(path).json()
    while True:
        pages.append(body)
        ids += [job["id"] for job in body["records"]]
        if body["nextRecordsUrl"] is None:
            break
        _locator(body["nextRecordsUrl"])
        body = api.client.get(body["nextRecordsUrl"], headers=api.headers).json()
    return ids, pages


def test_jobs_come_in_pages_newest_first(api: Api) -> None:
    newest_first = _ingest_jobs(api, 5)

    ids, pages = _all_pages(api, "/jobs/ingest")

    assert ids == newest_first
    assert [len(p["records"]) for p in pages] == [2, 2, 1]
    assert [p["done"] for p in pages] == [False, False, True]
    assert pages[-1]["nextRecordsUrl"] is None
    assert pages[0]["records"][0]["jobType"] == "V2Ingest"


def test_jobs_created_at_one_instant_are_ordered_by_id_without_gaps(api: Api) -> None:
    expected = _ingest_jobs(api, 5, same_time=True)

    ids, _ = _all_pages(api, "/jobs/ingest")

    assert ids == expected


def test_a_full_last_page_says_done(api: Api) -> None:
    _ingest_jobs(api, 2)

    body = api.get("/jobs/ingest").json()

    assert (len(body["records"]), body["done"], body["nextRecordsUrl"]) == (2, True, None)


def test_query_jobs_page_under_their_own_url(api: Api) -> None:
    for _ in range(3):
        assert api.post("/jobs/query", {"query": "SELECT Id FROM Contact"}).status_code == 200
    _ingest_jobs(api, 1)

    body = api.get("/jobs/query").json()

    assert [j["jobType"] for j in body["records"]] == ["V2Query", "V2Query"]
    assert body["nextRecordsUrl"].startswith(f"{V}/jobs/query?queryLocator=")
    locator = parse_qs(urlsplit(body["nextRecordsUrl"]).query)["queryLocator"][0]
    rest = api.get(f"/jobs/query?queryLocator={locator}").json()
    assert ([j["jobType"] for j in rest["records"]], rest["done"]) == (["V2Query"], True)


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ("jobType=V2Ingest", True),
        ("jobType=V2Query", False),
        ("jobType=Classic", False),
        ("jobType=BigObjectIngest", False),
        ("isPkChunkingEnabled=false", True),
        ("isPkChunkingEnabled=true", False),
        ("concurrencyMode=Parallel", True),
        ("concurrencyMode=serial", False),
        ("jobType=V2Ingest&concurrencyMode=serial", False),
    ],
)
def test_filters_select_the_jobs_they_describe(api: Api, query: str, matches: bool) -> None:
    jobs = _ingest_jobs(api, 3)

    ids, _ = _all_pages(api, f"/jobs/ingest?{query}")

    assert ids == (jobs if matches else [])


def test_the_locator_keeps_the_filters_of_the_first_page(api: Api) -> None:
    _ingest_jobs(api, 3)
    first = api.get("/jobs/ingest?isPkChunkingEnabled=false").json()
    locator = _locator(first["nextRecordsUrl"])

    # a filter given beside a locator does not change the list the locator continues
    rest = api.get(f"/jobs/ingest?queryLocator={locator}&jobType=Classic").json()

    assert len(rest["records"]) == 1


def _encoded(state: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode()


@pytest.mark.parametrize(
    "locator",
    [
        "nope!",
        "",
        base64.urlsafe_b64encode(b"not json").decode(),
        _encoded(["a list"]),
        _encoded({"c": "yesterday", "i": "x", "f": {}}),
        _encoded({"c": "2026-11-01T12:00:00", "i": "x", "f": {}}),  # no time zone
        _encoded({"c": "2026-11-01T12:00:00+00:00", "i": "x", "f": {"jobType": "Bogus"}}),
        _encoded({"c": "2026-11-01T12:00:00+00:00", "i": "x", "f": []}),
    ],
)
def test_a_bad_locator_is_a_400(api: Api, locator: str) -> None:
    _ingest_jobs(api, 1)

    response = api.get(f"/jobs/ingest?queryLocator={locator}")

    assert response.status_code == 400
    assert response.json() == [
        {"errorCode": "INVALID_QUERY_LOCATOR", "message": "invalid query locator"}
    ]


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("jobType=V3", "Invalid jobType: V3"),
        ("isPkChunkingEnabled=maybe", "Invalid isPkChunkingEnabled: maybe"),
        ("concurrencyMode=sometimes", "Invalid concurrencyMode: sometimes"),
    ],
)
def test_a_bad_filter_is_a_400(api: Api, query: str, message: str) -> None:
    response = api.get(f"/jobs/ingest?{query}")

    assert response.status_code == 400
    assert response.json() == [{"errorCode": "INVALIDPARAMETER", "message": message}]


def test_another_orgs_jobs_never_appear_on_any_page(api: Api, tokens: Any, outsider: Any) -> None:
    ours = _ingest_jobs(api, 3)
    other = Api(tokens.issue(outsider))
    other.post("/jobs/ingest", {"object": "Contact", "operation": "insert"})

    ids, _ = _all_pages(api, "/jobs/ingest")

    assert ids == ours
