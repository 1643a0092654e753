"""Reads of data extensions and their rows, scoped to the actor's account."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension, DataExtensionRow, DataImport


def data_extension_list(*, actor: User) -> QuerySet[DataExtension]:
    """The data extensions of the actor's account, with their row counts."""
    return (
        DataExtension.objects.filter(account=actor.account)
        .annotate(row_count=Count("rows"))
        .order_by("name", "id")
    )


def data_extension_get_for_actor(*, actor: User, data_extension_id: int) -> DataExtension | None:
    """One data extension of the actor's account, or None."""
    return (
        DataExtension.objects.filter(account=actor.account, pk=data_extension_id)
        .prefetch_related("fields")
        .first()
    )


def data_extension_get_by_name(*, account_id: int, name: str) -> DataExtension | None:
    """A data extension of an account by its name (case-insensitive), or None."""
    return DataExtension.objects.filter(account_id=account_id, name__iexact=name).first()


def row_list(*, data_extension: DataExtension) -> QuerySet[DataExtensionRow]:
    """The rows of a data extension in insertion order."""
    return data_extension.rows.order_by("id")


def row_get(*, data_extension: DataExtension, row_id: int) -> DataExtensionRow | None:
    """One row of the data extension, or None."""
    return data_extension.rows.filter(pk=row_id).first()


def row_get_by_key(*, data_extension: DataExtension, key: str) -> DataExtensionRow | None:
    """The row with this primary-key value, or the first row when `key` is blank."""
    if not key:
        return row_list(data_extension=data_extension).first()
    return data_extension.rows.filter(key=key).first()


def data_import_get_for_actor(*, actor: User, import_id: int) -> DataImport | None:
    """One import into a data extension of the actor's account, or None."""
    return (
        DataImport.objects.filter(data_extension__account=actor.account, pk=import_id)
        .select_related("data_extension")
        .first()
    )


def data_import_list(*, data_extension: DataExtension, limit: int = 20) -> QuerySet[DataImport]:
    """The latest imports into a data extension."""
    return data_extension.imports.order_by("-created_at", "-id")[:limit]
