"""A CRM for syncs: records with SystemModstamp and IsDeleted, answering the sync's SOQL.

Like the other single-piece tests of Connect, the CRM is a fake behind Connect's client seam
(legacy login, usage counting and the token cache are Connect's real code); the end-to-end
tests use the real CRM over HTTP.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tandem.engagement.connect import bulk
from tandem.engagement.connect.client import ApiUsage, CrmError, CrmResult, CrmToken
from tests.engagement.connect.conftest import (  # noqa: F401  (its fixtures, used here)
    FakeCrm,
    crm,
    crm_url_setting,
    legacy,
)
from tests.engagement.sends import conftest as sends_fixtures

SELECT = re.compile(
    r"SELECT (?P<cols>.+?) FROM (?P<obj>\w+)(?: WHERE (?P<where>.+?))?(?: ORDER BY (?P<order>.+?))?"
    r"(?: LIMIT (?P<limit>\d+))?$"
)
FIELDS = {
    "Contact": [
        ("Id", "id"),
        ("Email", "email"),
        ("FirstName", "string"),
        ("LastName", "string"),
        ("HasOptedOutOfEmail", "boolean"),
        ("MailingAddress", "address"),
        ("SystemModstamp", "datetime"),
        ("Birthdate", "date"),
        ("Score__c", "int"),
        ("Amount__c", "currency"),
    ],
    "Lead": [
        ("Id", "id"),
        ("Email", "email"),
        ("Company", "string"),
        ("SystemModstamp", "datetime"),
    ],
}


def stamp(value: datetime) -> str:
    return (
        value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{value.microsecond // 1000:03d}+0000"
    )


def bulk_text(value: Any) -> str:
    """A value as the CRM's Bulk results write it."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.endswith("+0000"):  # a dateTime
        return value[:-5] + "Z"
    return str(value)


def bulk_csv(rows: list[dict[str, Any]]) -> str:
    """Bulk query results: a header, every value quoted, lines ended by LF."""
    if not rows:
        return ""
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow(list(rows[0]))
    writer.writerows([bulk_text(value) for value in row.values()] for row in rows)
    return out.getvalue()


@dataclass
class SyncCrm(FakeCrm):
    """Records by object and Id; `clock` is the CRM's time, advanced by each change."""

    data: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    clock: datetime = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    batch: int = 3
    soql: list[str] = field(default_factory=list)
    cursors: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail_after: int | None = None  # answer this many more calls, then refuse (CRM down)
    hidden: set[str] = field(default_factory=set)  # records the system user no longer sees
    jobs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # Bulk query results
    bulk_page: int = 4  # rows per Bulk results page
    job_state: str = "JobComplete"  # what every query job's poll answers
    running_polls: int = 0  # this many polls answer InProgress first
    on_poll: Callable[[], None] | None = None  # called at each poll (a clock moved, say)

    def tick(self) -> datetime:
        self.clock += timedelta(seconds=1)
        return self.clock

    def put(self, sobject: str, record_id: str, **values: Any) -> None:
        record = self.data.setdefault(sobject, {}).setdefault(record_id, {"Id": record_id})
        record.update(values, IsDeleted=False, SystemModstamp=self.tick())

    def delete(self, sobject: str, record_id: str) -> None:
        self.data[sobject][record_id].update(IsDeleted=True, SystemModstamp=self.tick())

    def _answer(self) -> None:
        if self.fail_after is not None:
            if self.fail_after <= 0:
                raise CrmError("unreachable", "the CRM did not answer (down)")
            self.fail_after -= 1

    def describe_global(self, *, token: CrmToken) -> CrmResult:
        self._answer()
        objects = [{"name": name, "label": name, "queryable": True} for name in FIELDS]
        return CrmResult({"sobjects": objects}, ApiUsage(5, 15000))

    def describe(self, *, token: CrmToken, sobject: str) -> CrmResult:
        self._answer()
        found = [{"name": n, "label": n, "type": t} for n, t in FIELDS[sobject]]
        return CrmResult({"fields": found}, ApiUsage(6, 15000))

    def _run(self, soql: str, *, deleted: bool) -> CrmResult:
        return self._page(self._select(soql, deleted=deleted), str(len(self.cursors)))

    def _select(self, soql: str, *, deleted: bool) -> list[dict[str, Any]]:
        self._answer()
        self.soql.append(soql)
        match = SELECT.match(soql)
        assert match, soql
        cols = [c.strip() for c in match["cols"].split(",")]
        rows = [
            r
            for r in self.data.get(match["obj"], {}).values()
            if r["Id"] not in self.hidden and (deleted or not r["IsDeleted"])
        ]
        for condition in (match["where"] or "").split(" AND "):
            if condition == "IsDeleted = true":
                rows = [r for r in rows if r["IsDeleted"]]
            elif condition.startswith("SystemModstamp >= "):
                since = datetime.fromisoformat(condition.split(">= ")[1].replace("Z", "+00:00"))
                rows = [r for r in rows if r["SystemModstamp"] >= since]
            elif condition.startswith("Id > "):
                rows = [r for r in rows if r["Id"] > condition.split("'")[1]]
            else:
                assert not condition, condition
        # Without ORDER BY, the CRM walks by Id (as the real one does).
        rows.sort(key=lambda r: (r["SystemModstamp"], r["Id"]) if match["order"] else r["Id"])
        if match["order"] and match["order"].endswith("DESC"):
            rows.reverse()
        if match["limit"]:
            rows = rows[: int(match["limit"])]
        return [{c: stamp(r[c]) if c == "SystemModstamp" else r.get(c) for c in cols} for r in rows]

    def _page(self, rows: list[dict[str, Any]], locator: str) -> CrmResult:
        head, rest = rows[: self.batch], rows[self.batch :]
        answer: dict[str, Any] = {"totalSize": len(rows), "done": not rest, "records": head}
        if rest:
            self.cursors[locator] = rest
            answer["nextRecordsUrl"] = f"/services/data/v62.0/query/{locator}"
        return CrmResult(answer, ApiUsage(7, 15000))

    def query(self, *, token: CrmToken, soql: str) -> CrmResult:
        return self._run(soql, deleted=False)

    def query_all(self, *, token: CrmToken, soql: str) -> CrmResult:
        return self._run(soql, deleted=True)

    def query_more(self, *, token: CrmToken, next_url: str) -> CrmResult:
        self._answer()
        locator = next_url.rsplit("/", 1)[1]
        return self._page(self.cursors.pop(locator), locator + "x")

    # The Bulk API 2.0 of query jobs: the records the REST query answers, as the CRM's CSV.

    def bulk_query_create(self, *, token: CrmToken, soql: str) -> CrmResult:
        job_id = f"750{len(self.jobs):015d}"
        self.jobs[job_id] = self._select(soql, deleted=False)
        return CrmResult({"id": job_id, "state": "UploadComplete"}, ApiUsage(8, 15000))

    def bulk_job_get(self, *, token: CrmToken, kind: str, job_id: str) -> CrmResult:
        self._answer()
        if self.on_poll is not None:
            self.on_poll()
        state = self.job_state
        if self.running_polls > 0:
            self.running_polls, state = self.running_polls - 1, "InProgress"
        job = {"id": job_id, "state": state, "errorMessage": "InvalidBatch : boom"}
        return CrmResult(job, ApiUsage(9, 15000))

    def bulk_query_page(
        self, *, token: CrmToken, job_id: str, locator: str | None, max_records: int | None
    ) -> CrmResult:
        self._answer()
        rows, start = self.jobs[job_id], int(locator or 0)
        end = start + (max_records or self.bulk_page)
        following = str(end) if end < len(rows) else None
        return CrmResult(bulk.Page([], following, bulk_csv(rows[start:end])), ApiUsage(10, 15000))

    def _no_ingest(self, **_: Any) -> CrmResult:  # a sync never writes to the CRM
        raise AssertionError("a sync made a Bulk ingest call")

    bulk_upsert_create = bulk_upload = bulk_close = bulk_ingest_results = _no_ingest


@pytest.fixture
def sync_crm(
    settings: Any, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> SyncCrm:
    base: FakeCrm = request.getfixturevalue("crm")
    fake = SyncCrm(users=base.users, passwords=base.passwords)
    settings.CONNECT_CRM_CLIENT = lambda: fake
    return fake


email = sends_fixtures.email
