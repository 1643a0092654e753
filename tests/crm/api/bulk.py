"""Helpers for Bulk API 2.0 tests: create, upload, close, run (as a CRM worker would), read."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any

from tandem.crm.bulk.processing import job_run
from tests.crm.api.conftest import Api, V


def put_csv(api: Api, job_id: str, data: bytes | str) -> Any:
    body = data.encode() if isinstance(data, str) else data
    return api.client.put(
        f"{V}/jobs/ingest/{job_id}/batches",
        body,
        content_type="text/csv",
        headers=api.headers,
    )


def ingest(api: Api, data: bytes | str, *, run: bool = True, **job: Any) -> str:
    """Create an ingest job with `job` options, upload `data`, close it and run it."""
    response = api.post("/jobs/ingest", job)
    assert response.status_code == 200, response.content
    job_id: str = response.json()["id"]
    assert put_csv(api, job_id, data).status_code == 201
    assert api.patch(f"/jobs/ingest/{job_id}", {"state": "UploadComplete"}).status_code == 200
    if run:
        job_run(job_id)
    return job_id


def rows(response: Any) -> list[dict[str, str]]:
    assert response["Content-Type"].startswith("text/csv"), response.content
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def before_each_row(monkeypatch: Any, hook: Callable[[list[str]], None]) -> Callable[[], None]:
    """Run `hook(row)` as each ingest row is typed, on the generic path and on PostgreSQL's fast
    path alike; the function that stops it."""
    from tandem.crm.bulk import fastinsert, processing

    real_values, real_fast = processing.row_values, fastinsert.fast_row_values

    def values(plan: Any, row: Any, skip: Any, parents: Any) -> Any:
        hook(row)
        return real_values(plan, row, skip, parents)

    def fast_values(fast: Any, template: Any, row: Any, lookups: Any) -> Any:
        hook(row)
        return real_fast(fast, template, row, lookups)

    monkeypatch.setattr(processing, "row_values", values)
    monkeypatch.setattr(fastinsert, "fast_row_values", fast_values)

    def stop() -> None:
        monkeypatch.setattr(processing, "row_values", real_values)
        monkeypatch.setattr(fastinsert, "fast_row_values", real_fast)

    return stop
