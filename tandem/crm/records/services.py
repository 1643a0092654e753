"""Record writes from API-named field values: create, update, delete, upsert."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Model, ProtectedError
from django.utils import timezone

from tandem.crm.orgs.models import Org
from tandem.crm.records.derive import OBJECT_DERIVATIONS
from tandem.crm.records.describe import REGISTRY, model_for
from tandem.crm.records.errors import RecordError, RecordNotFoundError
from tandem.crm.records.selectors import (
    external_id_value,
    normalize_id,
    record_by_external_id,
    record_get,
    record_queryset,
)
from tandem.crm.soql.schema import (
    ID_TYPES,
    NUMBER_TYPES,
    TEXT_TYPES,
    FieldDescribe,
    FieldType,
    ObjectDescribe,
)
from tandem.crm.users.models import User


def _wrong_type(field: FieldDescribe, value: Any) -> RecordError:
    return RecordError(
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        f"{field.label}: value not of required type: {str(value)[:100]}",
        [field.name],
    )


def _parse_datetime(field: FieldDescribe, value: str) -> dt.datetime:
    text = value.replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        if not (text.isascii() and text.isprintable()):  # fromisoformat ignores a final NUL
            raise ValueError(text)
        parsed = dt.datetime.fromisoformat(text)
        parsed = parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
        return parsed.astimezone(dt.UTC)  # year 9999 at -23:59 is past the last datetime
    except (ValueError, OverflowError):
        raise _wrong_type(field, value) from None


def coerce(org: Org, field: FieldDescribe, value: Any) -> Any:
    """A JSON value converted to the field's Python type, or a Salesforce error."""
    if value is None:
        if not field.nillable and field.type != FieldType.BOOLEAN:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{field.name}]",
                [field.name],
            )
        return False if field.type == FieldType.BOOLEAN else None
    kind = field.type
    if kind in TEXT_TYPES:
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise _wrong_type(field, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise _out_of_range(field, value)
        text = str(value)
        if "\x00" in text or not _encodable(text):
            # PostgreSQL cannot store NUL; neither database stores a lone surrogate.
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"{field.label}: value contains a NUL character or invalid Unicode",
                [field.name],
            )
        if field.length and len(text) > field.length:
            raise RecordError(
                "STRING_TOO_LONG",
                f"{field.label}: data value too large: {text[:40]} (max length={field.length})",
                [field.name],
            )
        if (
            kind == FieldType.PICKLIST
            and field.picklist_values
            and text not in field.picklist_values
        ):
            raise RecordError(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{field.label}: bad value for restricted picklist field: {text}",
                [field.name],
            )
        return text
    if kind in ID_TYPES:
        return _reference(org, field, value)
    if kind == FieldType.BOOLEAN:
        if not isinstance(value, bool):
            raise _wrong_type(field, value)
        return value
    if kind in NUMBER_TYPES:
        return _number(field, value)
    if kind == FieldType.DATE:
        return _parse_date(field, value)
    if isinstance(value, str):
        return _parse_datetime(field, value)
    raise _wrong_type(field, value)


# An int field is 32 bits; a double or currency field holds at most 18 digits.
INT_RANGE = (-(2**31), 2**31 - 1)
MAX_DOUBLE = 1e18


def _out_of_range(field: FieldDescribe, value: Any) -> RecordError:
    shown = f"{value:.6g}" if isinstance(value, float) else str(value)[:40]
    return RecordError(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{field.label}: value outside of valid range on numeric field: {shown}",
        [field.name],
    )


def _number(field: FieldDescribe, value: Any) -> int | float:
    """A JSON number for a number field: 1e400 or a 23-digit integer is out of range."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _wrong_type(field, value)
    if isinstance(value, float) and not math.isfinite(value):
        raise _out_of_range(field, value)
    if field.type == FieldType.INT:
        if value != int(value):
            raise _wrong_type(field, value)
        if not INT_RANGE[0] <= value <= INT_RANGE[1]:
            raise _out_of_range(field, value)
        return int(value)
    if abs(value) >= MAX_DOUBLE:
        raise _out_of_range(field, value)
    return float(value)


def _encodable(text: str) -> bool:
    try:
        text.encode()
    except UnicodeEncodeError:
        return False
    return True


def _parse_date(field: FieldDescribe, value: Any) -> dt.date:
    """`2026-11-29`, or a dateTime whose date is taken."""
    if not isinstance(value, str):
        raise _wrong_type(field, value)
    if len(value) > 10:
        return _parse_datetime(field, value).date()
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _wrong_type(field, value) from None


def _reference(org: Org, field: FieldDescribe, value: Any) -> str:
    normal = normalize_id(value) if isinstance(value, str) else None
    target = REGISTRY.get(field.reference_to or "")
    if normal is not None and field.polymorphic_to:
        target = next(
            (
                t
                for t in map(REGISTRY.get, field.polymorphic_to)
                if t is not None and normal.startswith(t.key_prefix)
            ),
            None,
        )
        if target is None:
            # Salesforce: an id of a type the polymorphic lookup does not take.
            raise RecordError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{field.label}: id value of incorrect type: {value}",
                [field.name],
            )
    if normal is None or target is None:
        raise RecordError(
            "MALFORMED_ID", f"{field.label}: id value of incorrect type: {value}", [field.name]
        )
    exists = record_queryset(org=org, sobject=target).filter(pk=normal).exists()
    if not exists:
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [field.name])
    return normal


def _assignments(
    org: Org, sobject: ObjectDescribe, values: dict[str, Any], *, creating: bool
) -> dict[str, Any]:
    assigned: dict[str, Any] = {}
    for name, value in values.items():
        if name == "attributes":
            continue
        field = sobject.field(name)
        if field is None:
            raise RecordError(
                "INVALID_FIELD",
                f"No such column '{name}' on sobject of type {sobject.name}",
                [name],
            )
        allowed = field.createable if creating else field.updateable
        if not allowed:
            raise RecordError(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {field.name}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                [field.name],
            )
        attname = field.attname
        assigned[attname] = coerce(org, field, value)
    return assigned


def _check_required(sobject: ObjectDescribe, record: Model) -> None:
    missing = [
        f.name
        for f in sobject.fields
        if not f.nillable
        and f.createable
        and not f.default_on_create
        and f.type != FieldType.BOOLEAN
        and getattr(record, f.attname) in (None, "")
    ]
    if missing:
        raise RecordError(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )


def _derive(record: Model, given: set[str], *, creating: bool) -> None:
    """Computed fields: a person's Name; a campaign member has a contact or a lead; the
    fields an opportunity, case, task or event derives (`given`: the API names written,
    lower-cased)."""
    derive_object = OBJECT_DERIVATIONS.get(record.__class__.__name__)
    if derive_object is not None:
        derive_object(record, given, creating)
    if hasattr(record, "last_name") and hasattr(record, "name"):
        record.name = " ".join(p for p in (record.first_name, record.last_name) if p)  # type: ignore[attr-defined]
    if record.__class__.__name__ == "CampaignMember":
        has_contact = getattr(record, "contact_id", None) is not None
        has_lead = getattr(record, "lead_id", None) is not None
        if has_contact == has_lead:
            raise RecordError(
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [ContactId, LeadId]: give exactly one",
                ["ContactId", "LeadId"],
            )


def _given(values: dict[str, Any]) -> set[str]:
    return {k.lower() for k in values}


def _save(record: Model, *, creating: bool) -> None:
    try:
        with transaction.atomic():
            record.save(force_insert=creating)
    except IntegrityError:
        raise RecordError(
            "DUPLICATE_VALUE", "duplicate value found: a unique field already has this value"
        ) from None


def record_build(
    *, org: Org, owner: User, sobject: ObjectDescribe, values: dict[str, Any]
) -> Model:
    """A new, validated, unsaved record."""
    model = model_for(sobject.name)
    now = timezone.now()
    record = model(
        org=org, owner=owner, created_date=now, last_modified_date=now, system_modstamp=now
    )
    for attname, value in _assignments(org, sobject, values, creating=True).items():
        setattr(record, attname, value)
    owner_id = getattr(record, "owner_id", None)
    if owner_id != owner.pk and not User.objects.filter(pk=owner_id, org=org).exists():
        raise RecordError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"])
    _check_required(sobject, record)
    _derive(record, _given(values), creating=True)
    return record


def _cannot(sobject: ObjectDescribe, verb: str) -> RecordError:
    """Salesforce's refusal of a write to a read-only type (Organization, Profile, User…)."""
    return RecordError(
        "INVALID_TYPE_FOR_OPERATION", f"entity type cannot be {verb}: {sobject.name}"
    )


@transaction.atomic
def record_create(
    *, org: Org, owner: User, sobject: ObjectDescribe, values: dict[str, Any]
) -> Model:
    """Create one record from API field values."""
    if not sobject.createable:
        raise _cannot(sobject, "inserted")
    record = record_build(org=org, owner=owner, sobject=sobject, values=values)
    _save(record, creating=True)
    return record


@transaction.atomic
def record_update(
    *, org: Org, sobject: ObjectDescribe, record_id: str, values: dict[str, Any]
) -> Model:
    """Change some fields of one record."""
    if not sobject.updateable:
        raise _cannot(sobject, "updated")
    record = record_get(org=org, sobject=sobject, record_id=record_id)
    for attname, value in _assignments(org, sobject, values, creating=False).items():
        setattr(record, attname, value)
    _check_required(sobject, record)
    _derive(record, _given(values), creating=False)
    now = timezone.now()
    record.last_modified_date = now
    record.system_modstamp = now
    _save(record, creating=False)
    return record


@transaction.atomic
def record_delete(*, org: Org, sobject: ObjectDescribe, record_id: str) -> None:
    """Move one record to the recycle bin (queryAll still sees it)."""
    if not sobject.deletable:
        raise _cannot(sobject, "deleted")
    record = record_get(org=org, sobject=sobject, record_id=record_id)
    record.is_deleted = True
    record.system_modstamp = timezone.now()
    record.save(update_fields=["is_deleted", "system_modstamp"])


@transaction.atomic
def record_hard_delete(*, org: Org, sobject: ObjectDescribe, record_id: str) -> None:
    """Erase one record for good, bypassing the recycle bin (Bulk API's hardDelete); a record
    already in the recycle bin may be erased too."""
    if not sobject.deletable:
        raise _cannot(sobject, "deleted")
    normal = normalize_id(record_id)
    if normal is None or not normal.startswith(sobject.key_prefix):
        raise RecordNotFoundError()
    found = record_queryset(org=org, sobject=sobject, include_deleted=True).filter(pk=normal)
    if not found.exists():
        raise RecordNotFoundError()
    try:
        with transaction.atomic():
            found.delete()
    except (IntegrityError, ProtectedError):
        raise RecordError(
            "DELETE_FAILED", "Your attempt to delete this record failed: other records refer to it"
        ) from None


@transaction.atomic
def record_delete_by_external_id(
    *, org: Org, sobject: ObjectDescribe, field_name: str, key: str
) -> None:
    """Move the record whose external id is `key` to the recycle bin."""
    record = record_by_external_id(org=org, sobject=sobject, field_name=field_name, key=key)
    record_delete(org=org, sobject=sobject, record_id=record.pk)


@transaction.atomic
def record_upsert(
    *,
    org: Org,
    owner: User,
    sobject: ObjectDescribe,
    field_name: str,
    key: str,
    values: dict[str, Any],
) -> tuple[Model, bool]:
    """Update the record whose external id is `key`, or create it; returns (record, created)."""
    if not sobject.createable:
        raise _cannot(sobject, "inserted")
    field = sobject.field(field_name)
    if field is None or not field.external_id:
        raise RecordError(
            "NOT_FOUND",
            f"Provided external ID field does not exist or is not accessible: {field_name[:80]}",
        )
    key = external_id_value(field, key)
    if field.name in {k for k in values} or field.name.lower() in {k.lower() for k in values}:
        values = {k: v for k, v in values.items() if k.lower() != field.name.lower()}
    matches = list(record_queryset(org=org, sobject=sobject).filter(**{field.orm: key})[:2])
    if len(matches) > 1:
        raise RecordError("MULTIPLE_CHOICES", f"More than one record found for {field.name}: {key}")
    if matches:
        record = record_update(org=org, sobject=sobject, record_id=matches[0].pk, values=values)
        return record, False
    record = record_build(org=org, owner=owner, sobject=sobject, values=values)
    setattr(record, field.orm, key)
    _save(record, creating=True)
    return record, True
