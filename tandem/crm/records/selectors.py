"""Record reads, always scoped to the caller's org."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from tandem.core.ids import is_valid_id, to_18
from tandem.crm.orgs.models import Org
from tandem.crm.records.describe import model_for
from tandem.crm.records.errors import RecordError, RecordNotFoundError
from tandem.crm.soql.orm import computed_annotations
from tandem.crm.soql.schema import FieldDescribe, ObjectDescribe


def record_queryset(
    *, org: Org, sobject: ObjectDescribe, include_deleted: bool = False
) -> QuerySet[Any]:
    """Every visible record of one type in the org (all of the org's records: public sharing)."""
    queryset = model_for(sobject.name)._default_manager.filter(**{sobject.org_field: org.pk})
    if sobject.field("IsDeleted") is not None and not include_deleted:
        queryset = queryset.filter(is_deleted=False)
    computed = computed_annotations(sobject)
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
            "INVALID_FIELD",
            f"{field.label}: the external ID value contains a NUL character",
            [field.name],
        )
    limit = field.length or 255
    if len(key) > limit:
        raise RecordError(
            "STRING_TOO_LONG",
            f"{field.label}: data value too large: {key[:40]} (max length={limit})",
            [field.name],
        )
    return key


def external_id_field(sobject: ObjectDescribe, field_name: str) -> FieldDescribe:
    """The external id field `field_name` of `sobject` (Id counts), or NOT_FOUND."""
    field = sobject.field(field_name)
    if field is None or not (field.external_id or field.name == "Id"):
        raise RecordError(
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name[:80]}",
        )
    return field


def record_by_external_id(*, org: Org, sobject: ObjectDescribe, field_name: str, key: str) -> Any:
    """The live record whose external id is `key` (unique in the org), or NOT_FOUND."""
    field = external_id_field(sobject, field_name)
    key = external_id_value(field, key)
    if field.name == "Id":
        return record_get(org=org, sobject=sobject, record_id=key)
    found = record_queryset(org=org, sobject=sobject).filter(**{field.orm: key}).first()
    if found is None:
        raise RecordNotFoundError()
    return found
