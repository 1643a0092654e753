"""Writes to data extensions: definitions, fields, sendable settings and rows."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import transaction
from django.db.models import ProtectedError

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import (
    DataExtension,
    DataExtensionField,
    DataExtensionRow,
    FieldType,
)
from tandem.engagement.data.values import row_key, row_normalize

_FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_ ]{0,99}$")


class DataExtensionError(Exception):
    """A data extension request that cannot be carried out; `field` names the bad input."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class FieldSpec:
    """A field to create."""

    name: str
    field_type: str = FieldType.TEXT
    is_primary_key: bool = False
    is_required: bool = False


@dataclass(frozen=True)
class Sendable:
    """The sendable settings: which field is the subscriber key and which the address."""

    is_sendable: bool
    subscriber_key_field: str = ""
    email_field: str = ""


def _check_field_name(name: str) -> str:
    name = name.strip()
    if not _FIELD_NAME.match(name):
        raise DataExtensionError(
            f"Field name {name!r}: start with a letter; letters, digits, spaces and _ only; "
            "at most 100 characters.",
            field="fields",
        )
    return name


def _check_specs(specs: Sequence[FieldSpec]) -> list[FieldSpec]:
    if not specs:
        raise DataExtensionError("Add at least one field.", field="fields")
    checked: list[FieldSpec] = []
    seen: set[str] = set()
    for spec in specs:
        name = _check_field_name(spec.name)
        if name.casefold() in seen:
            raise DataExtensionError(f"Field name {name!r} is used twice.", field="fields")
        if spec.field_type not in FieldType.values:
            raise DataExtensionError(f"Unknown field type {spec.field_type!r}.", field="fields")
        seen.add(name.casefold())
        checked.append(
            FieldSpec(
                name, spec.field_type, spec.is_primary_key, spec.is_required or spec.is_primary_key
            )
        )
    return checked


def _check_sendable(sendable: Sendable, fields: Mapping[str, str]) -> Sendable:
    """`fields` maps field name to type."""
    if not sendable.is_sendable:
        return Sendable(False)
    key, email = sendable.subscriber_key_field.strip(), sendable.email_field.strip()
    if key not in fields:
        raise DataExtensionError(
            "A sendable data extension needs its subscriber key field among its fields.",
            field="subscriber_key_field",
        )
    if fields.get(email) != FieldType.EMAIL_ADDRESS:
        raise DataExtensionError(
            "A sendable data extension needs an EmailAddress field as its email field.",
            field="email_field",
        )
    return Sendable(True, key, email)


@transaction.atomic
def data_extension_create(
    *, actor: User, name: str, fields: Sequence[FieldSpec], sendable: Sendable
) -> DataExtension:
    """A new data extension of the actor's account, with its fields."""
    if actor.account is None:
        raise DataExtensionError("Only members of an account have data extensions.")
    name = name.strip()
    if not name:
        raise DataExtensionError("The name must not be empty.", field="name")
    if DataExtension.objects.filter(account=actor.account, name__iexact=name).exists():
        raise DataExtensionError(f"A data extension named {name!r} exists.", field="name")
    specs = _check_specs(fields)
    chosen = _check_sendable(sendable, {spec.name: spec.field_type for spec in specs})
    data_extension = DataExtension.objects.create(
        account=actor.account,
        name=name,
        is_sendable=chosen.is_sendable,
        subscriber_key_field=chosen.subscriber_key_field,
        email_field=chosen.email_field,
    )
    DataExtensionField.objects.bulk_create(
        DataExtensionField(
            data_extension=data_extension,
            name=spec.name,
            field_type=spec.field_type,
            is_primary_key=spec.is_primary_key,
            is_required=spec.is_required,
            ordinal=index,
        )
        for index, spec in enumerate(specs)
    )
    return data_extension


@transaction.atomic
def data_extension_field_add(
    *, actor: User, data_extension: DataExtension, spec: FieldSpec
) -> DataExtensionField:
    """Add a field; existing rows get an empty value, so it cannot be required or a key then."""
    _check_owner(actor, data_extension)
    check_writable(data_extension)
    name = _check_field_name(spec.name)
    if data_extension.fields.filter(name__iexact=name).exists():
        raise DataExtensionError(f"Field name {name!r} is used already.", field="name")
    if spec.field_type not in FieldType.values:
        raise DataExtensionError(f"Unknown field type {spec.field_type!r}.", field="field_type")
    has_rows = data_extension.rows.exists()
    if has_rows and (spec.is_primary_key or spec.is_required):
        raise DataExtensionError(
            "This data extension has rows: a new field can be neither required nor a primary key.",
            field="is_primary_key" if spec.is_primary_key else "is_required",
        )
    last = data_extension.fields.order_by("-ordinal").values_list("ordinal", flat=True).first()
    return DataExtensionField.objects.create(
        data_extension=data_extension,
        name=name,
        field_type=spec.field_type,
        is_primary_key=spec.is_primary_key,
        is_required=spec.is_required or spec.is_primary_key,
        ordinal=(last or 0) + 1,
    )


@transaction.atomic
def data_extension_sendable_update(
    *, actor: User, data_extension: DataExtension, sendable: Sendable
) -> DataExtension:
    """Turn sending on or off and choose the subscriber key and email fields."""
    _check_owner(actor, data_extension)
    check_writable(data_extension)
    types = dict(data_extension.fields.values_list("name", "field_type"))
    chosen = _check_sendable(sendable, types)
    data_extension.is_sendable = chosen.is_sendable
    data_extension.subscriber_key_field = chosen.subscriber_key_field
    data_extension.email_field = chosen.email_field
    data_extension.save(update_fields=["is_sendable", "subscriber_key_field", "email_field"])
    return data_extension


@transaction.atomic
def data_extension_delete(*, actor: User, data_extension: DataExtension) -> None:
    """Delete a data extension with its rows, unless something (such as a send) uses it."""
    _check_owner(actor, data_extension)
    try:
        with transaction.atomic():
            data_extension.delete()
    except ProtectedError as exc:
        users = sorted({str(type(obj)._meta.verbose_name_plural) for obj in exc.protected_objects})
        raise DataExtensionError(
            f"{data_extension.name!r} is used by {', '.join(map(str, users))}: delete those first."
        ) from exc


def check_writable(data_extension: DataExtension) -> None:
    """A synchronized data extension is the CRM's copy: only its sync writes it."""
    if DataExtension.objects.filter(pk=data_extension.pk, sync_source__isnull=False).exists():
        raise DataExtensionError(
            f"{data_extension.name!r} is synchronized from the CRM and read-only: change the "
            "records in the CRM, or its fields under Synchronized Data Sources."
        )


def _check_owner(actor: User, data_extension: DataExtension) -> None:
    if actor.account_id is None or data_extension.account_id != actor.account_id:
        raise DataExtensionError("That data extension does not exist.")


def _row_values(
    data_extension: DataExtension, cells: Mapping[str, str]
) -> tuple[dict[str, str], str]:
    fields = list(data_extension.fields.all())
    values, problems = row_normalize(fields, {f.name: cells.get(f.name, "") for f in fields})
    if problems:
        raise DataExtensionError("; ".join(problems) + ".")
    primary_key = [field.name for field in fields if field.is_primary_key]
    try:
        return values, row_key(primary_key, values)
    except ValueError as exc:
        raise DataExtensionError(f"{str(exc).capitalize()}.") from exc


@transaction.atomic
def row_create(
    *, actor: User, data_extension: DataExtension, cells: Mapping[str, str]
) -> DataExtensionRow:
    """Add one row; its primary key must be new."""
    _check_owner(actor, data_extension)
    check_writable(data_extension)
    values, key = _row_values(data_extension, cells)
    if data_extension.rows.filter(key=key).exists():
        raise DataExtensionError(f"A row with the key {key!r} exists.")
    return DataExtensionRow.objects.create(data_extension=data_extension, key=key, values=values)


@transaction.atomic
def row_update(*, actor: User, row: DataExtensionRow, cells: Mapping[str, str]) -> DataExtensionRow:
    """Change one row; a changed primary key must still be unique."""
    data_extension = row.data_extension
    _check_owner(actor, data_extension)
    check_writable(data_extension)
    values, key = _row_values(data_extension, cells)
    if not data_extension.fields.filter(is_primary_key=True).exists():
        key = row.key  # without a primary key, the row keeps its generated id
    if data_extension.rows.filter(key=key).exclude(pk=row.pk).exists():
        raise DataExtensionError(f"A row with the key {key!r} exists.")
    row.key, row.values = key, values
    row.save(update_fields=["key", "values"])
    return row


@transaction.atomic
def row_delete(*, actor: User, row: DataExtensionRow) -> None:
    """Delete one row."""
    _check_owner(actor, row.data_extension)
    check_writable(row.data_extension)
    row.delete()
