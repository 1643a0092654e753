"""Filtered data extensions: a saved filter on a synchronized data extension's fields.

A filter is evaluated when a send to it begins (never stored as rows beforehand), so the
recipients are the synchronized rows that match at that moment.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.db import transaction

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.syncs.audit import sync_audit
from tandem.engagement.syncs.errors import SyncError
from tandem.engagement.syncs.models import FilteredDataExtension, SyncSource


def _number(value: str) -> Decimal | None:
    try:
        return Decimal(value)
    except InvalidOperation:
        return None


def _compare(test: Callable[[Decimal, Decimal], bool]) -> Callable[[str, str], bool]:
    def check(cell: str, wanted: str) -> bool:
        left, right = _number(cell), _number(wanted)
        return left is not None and right is not None and test(left, right)

    return check


OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "equals": lambda cell, wanted: cell.casefold() == wanted.casefold(),
    "not_equals": lambda cell, wanted: cell.casefold() != wanted.casefold(),
    "contains": lambda cell, wanted: wanted.casefold() in cell.casefold(),
    "begins_with": lambda cell, wanted: cell.casefold().startswith(wanted.casefold()),
    "ends_with": lambda cell, wanted: cell.casefold().endswith(wanted.casefold()),
    "is_empty": lambda cell, _wanted: not cell.strip(),
    "is_not_empty": lambda cell, _wanted: bool(cell.strip()),
    "greater_than": _compare(lambda a, b: a > b),
    "less_than": _compare(lambda a, b: a < b),
}
_LINE = re.compile(r"^\s*(?P<field>\w+)\s+(?P<op>\w+)(?:\s+(?P<value>.*?))?\s*$")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str = ""


def conditions_parse(text: str) -> list[Condition]:
    """One condition a line: `Field operator value` (e.g. `Email ends_with @acme.test`)."""
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        match = _LINE.match(line)
        if match is None:
            raise SyncError(f"Line {number}: write `Field operator value`.", field="conditions")
        found.append(Condition(match["field"], match["op"], match["value"] or ""))
    return found


def _check(source: SyncSource, conditions: Sequence[Condition]) -> list[dict[str, str]]:
    if not conditions:
        raise SyncError("Add at least one condition.", field="conditions")
    checked = []
    for condition in conditions:
        if condition.field not in source.fields:
            raise SyncError(
                f"{condition.field!r} is not a field of {source.de_name}.", field="conditions"
            )
        if condition.op not in OPERATORS:
            raise SyncError(
                f"Unknown operator {condition.op!r}: use one of {', '.join(OPERATORS)}.",
                field="conditions",
            )
        checked.append({"field": condition.field, "op": condition.op, "value": condition.value})
    return checked


@transaction.atomic
def filtered_create(
    *,
    account: Account,
    name: str,
    source: SyncSource,
    conditions: Sequence[Condition],
    actor: User | None = None,
) -> FilteredDataExtension:
    """Save a filter; its name must be new among the account's data extensions and filters.
    Audited as `actor`'s."""
    name = name.strip()
    if not name:
        raise SyncError("The name must not be empty.", field="name")
    if source.account_id != account.pk:
        raise SyncError("That synchronized data source does not exist.", field="source")
    taken = DataExtension.objects.filter(account=account, name__iexact=name).exists()
    if taken or FilteredDataExtension.objects.filter(account=account, name__iexact=name).exists():
        raise SyncError(f"A data extension named {name!r} exists.", field="name")
    checked = _check(source, conditions)
    saved = FilteredDataExtension.objects.create(
        account=account, name=name, source=source, conditions=checked
    )
    new = {"over": source.de_name, "conditions": checked}
    sync_audit(account, actor, "sync.filter_created", name, None, new)
    return saved


def matches(values: Mapping[str, str], conditions: Iterable[Mapping[str, str]]) -> bool:
    return all(
        OPERATORS[c["op"]](str(values.get(c["field"], "")), c.get("value", "")) for c in conditions
    )


def audience_source(account_id: int, name: str) -> tuple[DataExtension, list[dict[str, str]]]:
    """The synchronized data extension a send names (directly or through a filtered one) and
    the conditions its rows must meet; SyncError when neither exists."""
    filtered = (
        FilteredDataExtension.objects.select_related("source__data_extension")
        .filter(account_id=account_id, name=name)
        .first()
    )
    if filtered is not None:
        return filtered.source.data_extension, list(filtered.conditions)
    source = (
        SyncSource.objects.select_related("data_extension")
        .filter(account_id=account_id, data_extension__name=name)
        .first()
    )
    if source is None:
        raise SyncError(f"There is no synchronized or filtered data extension named {name!r}.")
    return source.data_extension, []


def rows_matching(
    data_extension: DataExtension, conditions: list[dict[str, str]]
) -> Iterable[tuple[str, dict[str, str]]]:
    rows = DataExtensionRow.objects.filter(data_extension=data_extension).order_by("pk")
    for key, values in rows.values_list("key", "values").iterator(chunk_size=5000):
        if matches(values, conditions):
            yield key, values


@transaction.atomic
def audience_copy(*, account_id: int, name: str, copy_name: str) -> tuple[DataExtension, int]:
    """A send's audience now: a sendable copy of the matching synchronized rows."""
    source_de, conditions = audience_source(account_id, name)
    if not source_de.is_sendable:
        raise SyncError(f"{source_de.name!r} has no Email field: it cannot be an audience.")
    copy = DataExtension.objects.create(
        account_id=account_id,
        name=copy_name,
        is_sendable=True,
        subscriber_key_field=source_de.subscriber_key_field,
        email_field=source_de.email_field,
    )
    fields = list(source_de.fields.all())
    for field in fields:
        field.pk, field.data_extension = None, copy
    copy.fields.model.objects.bulk_create(fields)
    batch: list[DataExtensionRow] = []
    count = 0
    for key, values in rows_matching(source_de, conditions):
        batch.append(DataExtensionRow(data_extension=copy, key=key, values=values))
        if len(batch) == 2000:
            DataExtensionRow.objects.bulk_create(batch)
            count, batch = count + len(batch), []
    DataExtensionRow.objects.bulk_create(batch)
    return copy, count + len(batch)
