"""Record reads, always scoped to the caller's org."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tandem.core.ids import is_valid_id, to_18
from tandem.crm.orgs.models import Org
from tandem.crm.records.describe import computed_columns, model_for
from tandem.crm.records.errors import RecordError, RecordNotFoundError
from tandem.crm.soql.schema import FieldDescribe, ObjectDescribe


def record_queryset(
    *, org: Org, sobject: ObjectDescribe, include_deleted: bool = False
) -> QuerySet[Any]:
    """Every visible record of one type in the org (all of the org's records: public sharing)."""
    queryset = model_for(sobject.name)._default_manager.filter(**{sobject.org_field: org.pk})
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


def external_id_value(field: FieldDescribe, key: str) -> str:
    """An external id value from a URL, checked as the field checks a stored value."""
    if "\x00" in key:
        raise RecordError(
            "INVALID_FIELD", f"{field.label}: the external ID value contains a NUL character",
            [field.name],
        )  # fmt: skip
    limit = field.length or 255
    if len(key) > limit:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {key[:40]} (max length={limit})",
            [field.name],
        )
    return key
