"""What a sync reads from the CRM, as the system user through Connect (each call counted)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, cast

from tandem.engagement.connect import services as connect
from tandem.engagement.connect.client import CrmClient, CrmResult, CrmToken
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


def pages(connection: CrmConnection, soql: str, *, deleted: bool = False) -> Iterator[list[Any]]:
    """The query's records, one batch (page) at a time; queryAll when `deleted`."""

    def first(client: CrmClient, token: CrmToken) -> CrmResult:
        if deleted:
            return client.query_all(token=token, soql=soql)
        return client.query(token=token, soql=soql)

    result = _call(connection, first)
    while True:
        yield list(result.data.get("records", []))
        next_url = result.data.get("nextRecordsUrl")
        if result.data.get("done", True) or not next_url:
            return

        def more(client: CrmClient, token: CrmToken, url: str = str(next_url)) -> CrmResult:
            return client.query_more(token=token, next_url=url)

        result = _call(connection, more)
