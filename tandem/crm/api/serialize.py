"""Records as Salesforce JSON: `attributes`, API names, Salesforce's date and time formats."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any

from tandem.crm.api.soql.bind import BoundQuery
from tandem.crm.api.soql.schema import FieldDescribe, FieldType, ObjectDescribe

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


def attributes(sobject: str, record_id: str, version: str) -> dict[str, str]:
    return {"type": sobject, "url": f"/services/data/v{version}/sobjects/{sobject}/{record_id}"}


def query_records(
    query: BoundQuery, rows: Iterable[dict[str, Any]], version: str
) -> list[dict[str, Any]]:
    """Records of a query page (rows from `orm.page`), in Salesforce's JSON shape."""
    sobject = query.sobject.name
    prefix = f"/services/data/v{version}/sobjects/{sobject}/"
    plan: list[tuple[str, str | None, Convert, str | None]] = []
    for field in query.fields:
        if field.relationship is None:
            plan.append((field.key[0], None, converter(field.field), None))
        else:
            assert field.parent is not None
            plan.append((field.key[0], field.key[1], converter(field.field), field.parent.name))
    out = []
    for row in rows:
        record: dict[str, Any] = {"attributes": {"type": sobject, "url": prefix + row["__pk__"]}}
        for key, child, convert, parent in plan:
            value = row[key]
            if child is None:
                record[key] = convert(value) if convert else value
            elif value is None:
                record[key] = None
            else:
                nested = record.get(key)
                if nested is None:
                    nested = record[key] = {"attributes": {"type": parent}}
                raw = value[child]
                nested[child] = convert(raw) if convert else raw
        out.append(record)
    return out


def record_json(
    sobject: ObjectDescribe, record: Any, version: str, names: list[str] | None = None
) -> dict[str, Any]:
    """One record with all (or the named) fields."""
    body: dict[str, Any] = {"attributes": attributes(sobject.name, record.pk, version)}
    fields = [sobject.field(n) for n in names] if names else list(sobject.fields)
    for field in fields:
        if field is None:
            continue
        value = getattr(record, f"{field.orm}_id" if field.reference_to else field.orm)
        convert = converter(field)
        body[field.name] = convert(value) if convert else value
    return body
