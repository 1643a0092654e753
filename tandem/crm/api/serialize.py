"""Records as Salesforce JSON: `attributes`, API names, Salesforce's date and time formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any

from tandem.crm.soql.bind import BoundQuery
from tandem.crm.soql.orm import records
from tandem.crm.soql.schema import FieldDescribe, FieldType, ObjectDescribe

Convert = Callable[[Any], Any] | None


def format_datetime(value: dt.datetime) -> str:
    """Salesforce's dateTime: `2026-11-29T08:00:00.000+0000` (always UTC)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + (
        f"{value.microsecond // 1000:03d}+0000"
    )


def converter(field: FieldDescribe) -> Convert:
    """How to turn a stored value into JSON for this field (None: as it is)."""
    if field.type == FieldType.DATETIME:
        return lambda v: None if v is None else format_datetime(v)
    if field.type == FieldType.DATE:
        return lambda v: None if v is None else v.isoformat()
    return None


def _converter(field: FieldDescribe) -> Convert:
    """Like `converter`, for rows whose dateTime values the database already formatted."""
    return None if field.type == FieldType.DATETIME else converter(field)


def attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def query_records(
    query: BoundQuery, rows: Sequence[tuple[Any, ...]], version: str
) -> list[dict[str, Any]]:
    """Records of a query batch (rows of `orm.page_rows(text_datetimes=True)`), as Salesforce
    JSON. The common case, no parent fields, is one dict update per row: at 2,000 records a
    batch this loop is a large share of the request."""
    sobject = query.sobject.name
    prefix = f"/services/data/v{version}/sobjects/{sobject}/"
    if all(f.relationship is None for f in query.fields):
        keys = [f.key[0] for f in query.fields]
        converts = [(i, c) for i, f in enumerate(query.fields, 1) if (c := _converter(f.field))]
        out = []
        for row in rows:
            record: dict[str, Any] = {"attributes": {"type": sobject, "url": prefix + row[0]}}
            values: Sequence[Any] = row
            if converts:
                changed = list(row)
                for index, convert in converts:
                    changed[index] = convert(changed[index])
                values = changed
            record.update(zip(keys, values[1:], strict=True))
            out.append(record)
        return out
    return [_nested(query, record, prefix) for record in records(iter(rows), query)]


def _nested(query: BoundQuery, row: dict[str, Any], prefix: str) -> dict[str, Any]:
    record: dict[str, Any] = {
        "attributes": {"type": query.sobject.name, "url": prefix + row["__pk__"]}
    }
    for field in query.fields:
        key = field.key[0]
        convert = _converter(field.field)
        value = row[key]
        if field.relationship is None:
            record[key] = convert(value) if convert else value
        elif value is None:
            record[key] = None
        else:
            assert field.parent is not None
            nested = record.get(key)
            if nested is None:
                nested = record[key] = {"attributes": {"type": field.parent.name}}
            raw = value[field.key[1]]
            nested[field.key[1]] = convert(raw) if convert else raw
    return record


def record_json(
    sobject: ObjectDescribe, record: Any, version: str, names: list[str] | None = None
) -> dict[str, Any]:
    """One record with all (or the named) fields."""
    body: dict[str, Any] = {"attributes": attributes(sobject.name, record.pk, version)}
    fields = [sobject.field(n) for n in names] if names else list(sobject.fields)
    for field in fields:
        if field is None:
            continue
        value = getattr(record, field.attname)
        convert = converter(field)
        body[field.name] = convert(value) if convert else value
    return body
