"""What a sync reads from the CRM, as the system user through Connect (each call counted)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

from tandem.engagement.connect import services as connect
from tandem.engagement.connect import tokens
from tandem.engagement.connect.client import CrmClient, CrmError, CrmResult, CrmToken
from tandem.engagement.connect.models import CrmConnection


@dataclass(frozen=True)
class CrmField:
    name: str
    label: str
    type: str


def _call(connection: CrmConnection, call: Any) -> CrmResult:
    return cast(CrmResult, connect.crm_call(connection, call))


def objects(connection: CrmConnection) -> list[tuple[str, str]]:
    """(name, label) of every object the system user can query (describeGlobal)."""

    def run(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.describe_global(token=token)

    found = _call(connection, run).data.get("sobjects", [])
    return sorted(
        (str(o["name"]), str(o.get("label") or o["name"]))
        for o in found
        if o.get("queryable", True) and o.get("name")
    )


def fields(connection: CrmConnection, sobject: str) -> dict[str, CrmField]:
    """The object's fields the system user can read, by name."""

    def run(client: CrmClient, token: CrmToken) -> CrmResult:
        return client.describe(token=token, sobject=sobject)

    found = _call(connection, run).data.get("fields", [])
    return {
        str(f["name"]): CrmField(str(f["name"]), str(f.get("label", "")), str(f.get("type", "")))
        for f in found
        if f.get("name")
    }


def _counted(connection: CrmConnection, result: CrmResult) -> CrmResult:
    """What `crm_call` records for a call made outside it: the call, and the CRM's limit."""
    connect.usage_record(connection.account_id, connection.system_username.lower())
    if result.usage is not None:
        connect.limit_record(connection, result.usage.used, result.usage.limit)
    return result


def first_page(connection: CrmConnection, soql: str, *, deleted: bool = False) -> CrmResult:
    """The query's first batch, with its `totalSize`; queryAll when `deleted`."""

    def first(client: CrmClient, token: CrmToken) -> CrmResult:
        if deleted:
            return client.query_all(token=token, soql=soql)
        return client.query(token=token, soql=soql)

    return _call(connection, first)


def pages(
    connection: CrmConnection, soql: str, *, deleted: bool = False, first: CrmResult | None = None
) -> Iterator[list[Any]]:
    """The query's records, one batch (page) at a time; queryAll when `deleted`; `first`, the
    first batch when the caller already has it.

    While the caller applies a page, the next one is already being fetched (one request in
    flight on a thread that only does HTTP; the token and the counting stay on the caller's
    thread and database connection), so the CRM's time and the writes overlap."""
    result = first or first_page(connection, soql, deleted=deleted)
    client = connect.crm_client()
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-fetch") as pool:
        while True:
            next_url = result.data.get("nextRecordsUrl")
            ahead: Future[CrmResult] | None = None
            if not result.data.get("done", True) and next_url:
                token = connect.connection_token(connection)
                ahead = pool.submit(client.query_more, token=token, next_url=str(next_url))
            yield list(result.data.get("records", []))
            if ahead is None:
                return
            result = _next(connection, ahead, str(next_url))


def _next(connection: CrmConnection, ahead: Future[CrmResult], next_url: str) -> CrmResult:
    try:
        return _counted(connection, ahead.result())
    except CrmError as exc:
        if exc.status != 401:
            raise

    def more(client: CrmClient, token: CrmToken) -> CrmResult:  # the session ended: log in again
        return client.query_more(token=token, next_url=next_url)

    tokens.tokens_forget(connection.account_id)
    return _call(connection, more)
