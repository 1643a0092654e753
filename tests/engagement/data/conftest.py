"""A sendable data extension of the first account, and helpers to import CSV text."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import File

from tandem.engagement.accounts.models import User
from tandem.engagement.data.imports import data_import_create, data_import_run
from tandem.engagement.data.models import DataExtension, DataExtensionRow, DataImport
from tandem.engagement.data.services import FieldSpec, Sendable, data_extension_create

FIELDS = [
    FieldSpec("SubscriberKey", "Text", is_primary_key=True),
    FieldSpec("Email", "EmailAddress", is_required=True),
    FieldSpec("FirstName", "Text"),
    FieldSpec("Age", "Number"),
    FieldSpec("Joined", "Date"),
    FieldSpec("Vip", "Boolean"),
    FieldSpec("Phone", "Phone"),
]


@pytest.fixture
def subscribers(admin: User) -> DataExtension:
    return data_extension_create(
        actor=admin,
        name="Subscribers",
        fields=FIELDS,
        sendable=Sendable(True, "SubscriberKey", "Email"),
    )


def as_file(data: bytes | str, name: str = "people.csv") -> File[bytes]:
    raw = data.encode() if isinstance(data, str) else data
    return File(io.BytesIO(raw), name=name)


def run_import(
    actor: User | None,
    data_extension: DataExtension,
    data: bytes | str,
    mode: str = "add_and_update",
) -> DataImport:
    created = data_import_create(
        actor=actor,
        data_extension=data_extension,
        source_name="people.csv",
        data=as_file(data),
        mode=mode,
    )
    finished = data_import_run(data_import_id=created.pk)
    assert finished is not None
    return finished


def snapshot(data_extension: DataExtension) -> dict[str, dict[str, str]]:
    """Every row of the data extension, by key."""
    return {
        row.key: row.values
        for row in DataExtensionRow.objects.filter(data_extension=data_extension)
    }
