"""A query's column metadata (`query?columns=true`): what `sf data query` reads to lay out a table.

Each selected field is one column; a parent field (`Account.Name`) is a column named after the
relationship whose `joinColumns` hold the parent's fields, as Salesforce answers it.
"""

from __future__ import annotations

from typing import Any

from tandem.crm.soql.bind import BoundField, BoundQuery
from tandem.crm.soql.schema import ID_TYPES, NUMBER_TYPES, TEXT_TYPES, FieldDescribe, FieldType

APEX_TYPES = {
    FieldType.ID: "Id",
    FieldType.REFERENCE: "Id",
    FieldType.BOOLEAN: "Boolean",
    FieldType.INT: "Integer",
    FieldType.DOUBLE: "Double",
    FieldType.CURRENCY: "Decimal",
    FieldType.PERCENT: "Double",
    FieldType.DATE: "Date",
    FieldType.DATETIME: "Datetime",
}


def _column(field: FieldDescribe, display: str) -> dict[str, Any]:
    return {
        "aggregate": False,
        "apexType": APEX_TYPES.get(field.type, "String"),
        "booleanType": field.type == FieldType.BOOLEAN,
        "columnName": field.name,
        "custom": field.name.endswith("__c"),
        "displayName": display,
        "foreignKeyName": None,
        "insertable": field.createable,
        "joinColumns": [],
        "label": field.label,
        "numberType": field.type in NUMBER_TYPES,
        "textType": field.type in TEXT_TYPES or field.type in ID_TYPES,
        "updatable": field.updateable,
    }


def _join(field: BoundField) -> dict[str, Any]:
    assert field.relationship is not None
    name = field.key[0]
    return {
        "aggregate": False,
        "apexType": None,
        "booleanType": False,
        "columnName": name,
        "custom": name.endswith("__r"),
        "displayName": name,
        "foreignKeyName": None,
        "insertable": False,
        "joinColumns": [],
        "label": field.relationship.label,
        "numberType": False,
        "textType": False,
        "updatable": False,
    }


def _count_column() -> dict[str, Any]:
    return {
        "aggregate": True,
        "apexType": "Integer",
        "booleanType": False,
        "columnName": "expr0",
        "custom": False,
        "displayName": "COUNT()",
        "foreignKeyName": None,
        "insertable": False,
        "joinColumns": [],
        "label": "COUNT()",
        "numberType": True,
        "textType": False,
        "updatable": False,
    }


def column_metadata(query: BoundQuery) -> dict[str, Any]:
    """Salesforce's answer to `query?q=…&columns=true` (no records)."""
    columns: list[dict[str, Any]] = [_count_column()] if query.is_count else []
    joins: dict[str, dict[str, Any]] = {}
    for field in query.fields:
        if field.relationship is None:
            columns.append(_column(field.field, field.key[0]))
            continue
        join = joins.get(field.key[0])
        if join is None:
            join = joins[field.key[0]] = _join(field)
            columns.append(join)
        join["joinColumns"].append(_column(field.field, ".".join(field.key)))
    return {
        "columnMetadata": columns,
        "entityName": query.sobject.name,
        "groupBy": False,
        "idSelected": any(f.key == ("Id",) for f in query.fields),
        "keyPrefix": query.sobject.key_prefix,
    }
