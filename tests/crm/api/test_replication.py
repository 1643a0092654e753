"""sobjects/<type>/updated and /deleted: ids changed or deleted in a range, Salesforce's errors."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
import time_machine

from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db
T0 = "2026-11-02T10:00:00+00:00"


def _range(start: str, end: str) -> str:
    return "?" + urlencode({"start": start, "end": end})


@pytest.fixture
def history(api: Api) -> dict[str, str]:
    """Three contacts: made at 10:05, 10:10 (changed at 11:30), and 10:20 (deleted at 11:45)."""
    ids: dict[str, str] = {}
    with time_machine.travel("2026-11-02T10:05:00Z", tick=False):
        ids["a"] = api.post("/sobjects/Contact", {"LastName": "A"}).json()["id"]
    with time_machine.travel("2026-11-02T10:10:00Z", tick=False):
        ids["b"] = api.post("/sobjects/Contact", {"LastName": "B"}).json()["id"]
    with time_machine.travel("2026-11-02T10:20:00Z", tick=False):
        ids["c"] = api.post("/sobjects/Contact", {"LastName": "C"}).json()["id"]
    with time_machine.travel("2026-11-02T11:30:00Z", tick=False):
        api.patch(f"/sobjects/Contact/{ids['b']}", {"LastName": "B2"})
    with time_machine.travel("2026-11-02T11:45:00Z", tick=False):
        api.delete(f"/sobjects/Contact/{ids['c']}")
    return ids


@time_machine.travel("2026-11-03T09:00:00Z", tick=False)
def test_updated_lists_changes_in_the_range(api: Api, history: dict[str, str]) -> None:
    response = api.get("/sobjects/Contact/updated/" + _range(T0, "2026-11-02T11:00:00+00:00"))

    assert response.status_code == 200
    assert response.json() == {
        "ids": [history["a"]],  # b changed later, c is deleted
        "latestDateCovered": "2026-11-02T11:00:00.000+0000",
    }


@time_machine.travel("2026-11-03T09:00:00Z", tick=False)
def test_updated_sees_a_later_change(api: Api, history: dict[str, str]) -> None:
    body = api.get(
        "/sobjects/Contact/updated/" + _range("2026-11-02T11:00:00Z", "2026-11-02T12:00:00Z")
    ).json()

    assert body["ids"] == [history["b"]]


@time_machine.travel("2026-11-03T09:00:00Z", tick=False)
def test_deleted_lists_deletions_with_their_date(api: Api, history: dict[str, str]) -> None:
    response = api.get("/sobjects/Contact/deleted/" + _range(T0, "2026-11-02T12:00:00+00:00"))

    assert response.status_code == 200
    assert response.json() == {
        "deletedRecords": [{"id": history["c"], "deletedDate": "2026-11-02T11:45:00.000+0000"}],
        "earliestDateAvailable": "2026-10-04T09:00:00.000+0000",
        "latestDateCovered": "2026-11-02T12:00:00.000+0000",
    }


@time_machine.travel("2026-11-02T11:50:30Z", tick=False)
def test_latest_date_covered_stops_at_now(api: Api, history: dict[str, str]) -> None:
    body = api.get("/sobjects/Contact/updated/" + _range(T0, "2026-11-09T00:00:00+00:00")).json()

    assert body["latestDateCovered"] == "2026-11-02T11:50:00.000+0000"
    assert body["ids"] == [history["a"], history["b"]]


@time_machine.travel("2026-11-03T09:00:00Z", tick=False)
def test_seconds_are_cut_and_an_unencoded_plus_is_read(api: Api, history: dict[str, str]) -> None:
    # simple-salesforce encodes the "+"; a client that does not sends a space.
    response = api.get(
        "/sobjects/Contact/updated/?start=2026-11-02T10:05:59+00:00&end=2026-11-02T10:06:00+0000"
    )

    assert response.status_code == 200
    assert response.json()["ids"] == [history["a"]]


@time_machine.travel("2026-11-03T09:00:00Z", tick=False)
def test_another_org_sees_nothing(tokens: Any, outsider: Any, history: dict[str, str]) -> None:
    body = (
        Api(tokens.issue(outsider))
        .get("/sobjects/Contact/updated/" + _range(T0, "2026-11-02T12:00:00Z"))
        .json()
    )

    assert body["ids"] == []


@time_machine.travel("2026-11-03T09:00:00Z", tick=False)
@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("", "MISSING_ARGUMENT"),
        (_range(T0, ""), "MISSING_ARGUMENT"),
        (_range("yesterday", "2026-11-02T12:00:00Z"), "INVALID_REPLICATION_DATE"),
        (_range("2026-11-02T12:00:00Z", T0), "INVALID_REPLICATION_DATE"),
        (_range(T0, T0), "INVALID_REPLICATION_DATE"),
        (_range("2026-09-01T00:00:00Z", T0), "INVALID_REPLICATION_DATE"),
        (_range("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"), "INVALID_REPLICATION_DATE"),
        (_range("9999-12-31T23:59:00-23:59", "2026-12-02T00:00:00Z"), "INVALID_REPLICATION_DATE"),
        (_range("2026-11-02T10:00:00\x00", "2026-12-02T00:00:00Z"), "INVALID_REPLICATION_DATE"),
    ],
)
@pytest.mark.parametrize("kind", ["updated", "deleted"])
def test_bad_ranges_are_salesforce_errors(api: Api, kind: str, query: str, code: str) -> None:
    response = api.get(f"/sobjects/Contact/{kind}/{query}")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code


def test_unknown_type_is_not_found(api: Api) -> None:
    response = api.get("/sobjects/Widget/updated/" + _range(T0, T0))

    assert response.status_code == 404
