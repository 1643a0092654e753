"""On PostgreSQL, each record's Salesforce JSON is built by the database (`json_build_object`).

Python then only joins ready-made text: building 2,000 dicts per batch and dumping them was
most of a query batch's CPU. Values stay ORM expressions over bound fields (no SQL text is
assembled here); the property test holds this path equal to the Python one.
"""

from __future__ import annotations

from typing import Any

from django.db import connection
from django.db.models import Case, F, Func, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Cast, Concat

from tandem.crm.soql.bind import BoundField, BoundQuery
from tandem.crm.soql.orm import SalesforceDateTime, field_path, query_window
from tandem.crm.soql.schema import FieldType

JSON_COLUMN = "sf_record_json"


class JsonBuildObject(Func):
    """`json_build_object(key, value, …)`: keys in the order given."""

    function = "json_build_object"
    output_field = TextField()

    def __init__(self, pairs: list[tuple[str, Any]]) -> None:
        expressions: list[Any] = []
        for key, value in pairs:
            expressions.extend((_text(key), value))
        super().__init__(*expressions)


class JsonText(Func):
    """A json value as its text."""

    template = "(%(expressions)s)::text"
    output_field = TextField()


def is_available() -> bool:
    """Whether records can be built by the database (PostgreSQL)."""
    return connection.vendor == "postgresql"


def _value(field: BoundField) -> Any:
    path = field_path(field)
    return SalesforceDateTime(path) if field.field.type == FieldType.DATETIME else F(path)


def _text(value: str) -> Cast:
    """A typed text literal: with server-side binding PostgreSQL cannot infer a bare one."""
    return Cast(Value(value), TextField())


def record_expression(query: BoundQuery, version: str) -> JsonText:
    """One record of the query, `attributes` first, then the selected fields in order."""
    sobject = query.sobject.name
    prefix = f"/services/data/v{version}/sobjects/{sobject}/"
    pairs: list[tuple[str, Any]] = [
        (
            "attributes",
            JsonBuildObject(
                [
                    ("type", _text(sobject)),
                    ("url", Concat(Value(prefix), "pk", output_field=TextField())),
                ]
            ),
        )
    ]
    parents: dict[str, list[BoundField]] = {}
    for field in query.fields:
        if field.relationship is None:
            pairs.append((field.key[0], _value(field)))
        elif field.key[0] not in parents:
            parents[field.key[0]] = [f for f in query.fields if f.key[0] == field.key[0]]
            pairs.append((field.key[0], _parent(parents[field.key[0]])))
    return JsonText(JsonBuildObject(pairs))


def _parent(fields: list[BoundField]) -> Case:
    """The nested parent object, or JSON null when the reference is empty."""
    relationship, parent = fields[0].relationship, fields[0].parent
    assert relationship is not None
    assert parent is not None
    nested = JsonBuildObject(
        [("attributes", JsonBuildObject([("type", _text(parent.name))]))]
        + [(f.key[1], _value(f)) for f in fields]
    )
    return Case(
        When(Q(**{f"{relationship.orm}__isnull": True}), then=Value(None)),
        default=nested,
        output_field=TextField(),
    )


def page_json(
    query: BoundQuery,
    queryset: QuerySet[Any],
    *,
    version: str,
    position: int,
    size: int,
    after_pk: Any = None,
) -> list[tuple[str, str]]:
    """(pk, record JSON text) for records `position` … `position + size` of the query."""
    window = query_window(
        query,
        queryset,
        position=position,
        size=size,
        after_pk=after_pk,
        annotations={JSON_COLUMN: record_expression(query, version)},
    )
    return [] if window is None else list(window.values_list("pk", JSON_COLUMN))
