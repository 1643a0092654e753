"""Record reads, always scoped to the caller's org."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tandem.core.ids import is_valid_id, to_18
from tandem.crm.orgs.models import Org
from tandem.crm.records.describe import computed_columns, model_for, org_scope
from tandem.crm.records.errors import RecordNotFoundError
from tandem.crm.soql.schema import ObjectDescribe


def record_queryset(
    *, org: Org, sobject: ObjectDescribe, include_deleted: bool = False
) -> QuerySet[Any]:
    """Every visible record of one type in the org (all of the org's records: public sharing)."""
    queryset = model_for(sobject.name)._default_manager.filter(**{org_scope(sobject.name): org.pk})
    if sobject.field("IsDeleted") is not None and not include_deleted:
        queryset = queryset.filter(is_deleted=False)
    computed = computed_columns(sobject.name)
    return queryset.annotate(**computed) if computed else queryset


def normalize_id(value: str) -> str | None:
    """An 18-character id from a 15- or 18-character one, or None if it is not an id."""
    if len(value) == 15 and value.isascii() and value.isalnum():
        value = to_18(value)
    return value if is_valid_id(value) else None


def record_get(*, org: Org, sobject: ObjectDescribe, record_id: str) -> Any:
    """One live record of the org by id, or RecordNotFoundError."""
    normal = normalize_id(record_id)
    if normal is None or not normal.startswith(sobject.key_prefix):
        raise RecordNotFoundError()
    found = record_queryset(org=org, sobject=sobject).filter(pk=normal).first()
    if found is None:
        raise RecordNotFoundError()
    return found
