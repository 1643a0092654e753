"""`composite/tree/<SObject>`: create nested records (parents with their children) all or none."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from tandem.crm.api.auth import ApiPrincipal
from tandem.crm.api.errors import ApiError
from tandem.crm.records import services
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.errors import RecordError
from tandem.crm.soql.schema import ObjectDescribe

MAX_RECORDS = 200
MAX_DEPTH = 5


def child_relationships(parent: ObjectDescribe) -> dict[str, tuple[ObjectDescribe, str]]:
    """Child relationship name → (child object, the child's lookup field to `parent`).

    Standard objects name it by the child's plural label (Account.Contacts,
    Campaign.CampaignMembers); custom objects by their plural with `__r`.
    """
    found: dict[str, tuple[ObjectDescribe, str]] = {
        name: (child, lookup.name) for name, child, lookup in REGISTRY.children(parent.name)
    }  # the ones describe names (polymorphic lookups included: Lead.Tasks)
    for child in REGISTRY.all():
        for f in child.fields:
            if f.reference_to != parent.name or f.name == "OwnerId":
                continue
            if child.name.endswith("__c"):
                name = child.name[: -len("__c")] + "s__r"
            else:
                name = child.label_plural.replace(" ", "")
            found.setdefault(name, (child, f.name))
    return found


@dataclass
class TreeRecord:
    """One record of the tree, its lookup to the parent (if a child) and its own children."""

    sobject: ObjectDescribe
    reference_id: str
    values: dict[str, Any]
    parent_field: str | None = None
    children: list[TreeRecord] = field(default_factory=list)


def _bad(message: str) -> ApiError:
    return ApiError(400, "INVALID_INPUT", message)


class _Parser:
    def __init__(self) -> None:
        self.count = 0
        self.reference_ids: set[str] = set()

    def records(
        self, items: Any, sobject: ObjectDescribe, parent_field: str | None, depth: int
    ) -> list[TreeRecord]:
        if not isinstance(items, list) or not items:
            raise ApiError(400, "JSON_PARSER_ERROR", "records must be a non-empty list")
        if depth > MAX_DEPTH:
            raise _bad(f"A tree may nest records at most {MAX_DEPTH} levels deep")
        return [self.record(item, sobject, parent_field, depth) for item in items]

    def record(
        self, item: Any, sobject: ObjectDescribe, parent_field: str | None, depth: int
    ) -> TreeRecord:
        if not isinstance(item, dict) or not isinstance(item.get("attributes"), dict):
            raise ApiError(400, "JSON_PARSER_ERROR", "Each record needs an attributes object")
        attributes = item["attributes"]
        kind, ref = attributes.get("type"), attributes.get("referenceId")
        if kind != sobject.name:
            raise _bad(f"The record type must be {sobject.name}, not {kind}")
        if not isinstance(ref, str) or not ref or ref in self.reference_ids:
            raise _bad(f"Each record needs its own referenceId: {ref!r}")
        self.reference_ids.add(ref)
        self.count += 1
        if self.count > MAX_RECORDS:
            raise ApiError(400, "LIMIT_EXCEEDED", f"A tree holds at most {MAX_RECORDS} records")
        relationships = child_relationships(sobject)
        record = TreeRecord(sobject, ref, {}, parent_field)
        for name, value in item.items():
            if name == "attributes":
                continue
            if name in relationships and isinstance(value, dict):
                child, lookup = relationships[name]
                record.children += self.records(value.get("records"), child, lookup, depth + 1)
            else:
                record.values[name] = value
        return record


def tree_parse(sobject: ObjectDescribe, body: Any) -> list[TreeRecord]:
    """The records of a tree request body, checked before anything is written."""
    if not isinstance(body, dict):
        raise ApiError(400, "JSON_PARSER_ERROR", "The body must be an object with records")
    return _Parser().records(body.get("records"), sobject, None, 1)


class _Failed(Exception):
    pass


def _create(
    principal: ApiPrincipal,
    record: TreeRecord,
    parent_id: str | None,
    created: list[dict[str, Any]],
    errors: list[dict[str, Any]],
) -> None:
    values = dict(record.values)
    if record.parent_field and parent_id:
        values[record.parent_field] = parent_id
    try:
        saved = services.record_create(
            org=principal.org, owner=principal.user, sobject=record.sobject, values=values
        )
    except RecordError as error:
        errors.append(
            {
                "referenceId": record.reference_id,
                "errors": [
                    {
                        "statusCode": error.status_code,
                        "message": error.message,
                        "fields": error.fields,
                    }
                ],
            }
        )
        return
    created.append({"referenceId": record.reference_id, "id": saved.pk})
    for child in record.children:
        _create(principal, child, saved.pk, created, errors)


def tree_create(principal: ApiPrincipal, records: list[TreeRecord]) -> tuple[int, dict[str, Any]]:
    """Create every record, parents first; one failure and nothing is kept (400 with errors)."""
    created: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = []
    try:
        with transaction.atomic():
            for record in records:
                _create(principal, record, None, created, errors)
            if errors:
                raise _Failed
    except _Failed:
        return 400, {"hasErrors": True, "results": errors}
    return 201, {"hasErrors": False, "results": created}
