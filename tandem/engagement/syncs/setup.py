"""Setting up a synchronized data source: the object, its fields, its schedule, its copy."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import transaction

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.data.models import DataExtension, DataExtensionField, FieldType
from tandem.engagement.syncs import crm
from tandem.engagement.syncs.audit import settings_of, sync_audit
from tandem.engagement.syncs.errors import SyncError
from tandem.engagement.syncs.models import Schedule, SyncSource, SyncState

KEY = "Id"
EMAIL = "Email"
# The CRM's field types, as data extension types; anything else is kept as text.
TYPES = {
    "email": FieldType.EMAIL_ADDRESS,
    "phone": FieldType.PHONE,
    "boolean": FieldType.BOOLEAN,
    "int": FieldType.NUMBER,
    "double": FieldType.NUMBER,
    "currency": FieldType.NUMBER,
    "percent": FieldType.NUMBER,
    "date": FieldType.DATE,
}
# Compound fields have no single value to copy.
COMPOUND = frozenset({"address", "location"})


def connection_of(account: Account | int) -> CrmConnection:
    account_id = account if isinstance(account, int) else account.pk
    connection = CrmConnection.objects.filter(account_id=account_id).first()
    if connection is None:
        raise SyncError("Marketing Cloud Connect is not set up for this account.")
    return connection


def crm_fields(connection: CrmConnection, object_name: str) -> dict[str, crm.CrmField]:
    """The object's readable fields; SyncError beside `object_name` when the CRM has none."""
    try:
        offered = dict(crm.objects(connection))
        if object_name not in offered:
            raise SyncError(
                f"The CRM offers no object named {object_name!r} to the system user.",
                field="object_name",
            )
        return crm.fields(connection, object_name)
    except CrmError as exc:
        raise SyncError(f"The CRM refused: {exc.message} ({exc.code})") from exc
    except ConnectError as exc:
        raise SyncError(exc.message) from exc


def _chosen(wanted: Sequence[str], readable: dict[str, crm.CrmField]) -> list[str]:
    """The chosen fields, Id first; SyncError naming each field that cannot be copied."""
    names = list(dict.fromkeys(name.strip() for name in wanted if name.strip()))
    problems = {}
    for name in names:
        field = readable.get(name)
        if field is None:
            problems[name] = "No such field, or the system user cannot read it."
        elif field.type in COMPOUND:
            problems[name] = "A compound field: choose its parts instead."
    if problems:
        raise SyncError("Some fields cannot be copied.", field="fields", fields=problems)
    return [KEY] + [name for name in names if name != KEY]


def _type(field: crm.CrmField) -> str:
    return str(TYPES.get(field.type, FieldType.TEXT))


def source_setup(
    *,
    account: Account,
    object_name: str,
    fields: Sequence[str],
    schedule: str = Schedule.EVERY_15_MINUTES,
    actor: User | None = None,
) -> SyncSource:
    """Create the source and its `<Object>_Salesforce` data extension, or change the fields and
    schedule of an existing one (a field added later is backfilled by the next run).
    Everything is checked against the CRM before anything is saved; a creation or a change is
    audited as `actor`'s (setting up the same fields and schedule again changes nothing)."""
    object_name = object_name.strip()
    if schedule not in Schedule.values:
        raise SyncError(f"Unknown schedule {schedule!r}.", field="schedule")
    connection = connection_of(account)
    readable = crm_fields(connection, object_name)
    chosen = _chosen(fields, readable)
    with transaction.atomic():
        source = (
            SyncSource.objects.select_for_update()
            .filter(account=account, object_name=object_name)
            .first()
        )
        if source is None:
            source = _create(account, object_name, chosen, schedule, readable)
            sync_audit(account, actor, "sync.created", source.de_name, None, settings_of(source))
            return source
        old = settings_of(source)
        source = _change(source, chosen, schedule, readable)
        if settings_of(source) != old:
            sync_audit(account, actor, "sync.changed", source.de_name, old, settings_of(source))
        return source


def _create(
    account: Account,
    object_name: str,
    chosen: list[str],
    schedule: str,
    readable: dict[str, crm.CrmField],
) -> SyncSource:
    name = f"{object_name}_Salesforce"
    if DataExtension.objects.filter(account=account, name__iexact=name).exists():
        raise SyncError(f"A data extension named {name!r} exists already.", field="object_name")
    sendable = EMAIL in chosen and readable[EMAIL].type == "email"
    data_extension = DataExtension.objects.create(
        account=account,
        name=name,
        is_sendable=sendable,
        subscriber_key_field=KEY if sendable else "",
        email_field=EMAIL if sendable else "",
    )
    _add_columns(data_extension, chosen, readable, start=0)
    return SyncSource.objects.create(
        account=account,
        object_name=object_name,
        fields=chosen,
        schedule=schedule,
        data_extension=data_extension,
    )


def _add_columns(
    data_extension: DataExtension,
    names: Sequence[str],
    readable: dict[str, crm.CrmField],
    start: int,
) -> None:
    DataExtensionField.objects.bulk_create(
        DataExtensionField(
            data_extension=data_extension,
            name=name,
            field_type=FieldType.TEXT if name == KEY else _type(readable[name]),
            is_primary_key=name == KEY,
            is_required=name == KEY,
            ordinal=start + index,
        )
        for index, name in enumerate(names)
    )


def _change(
    source: SyncSource, chosen: list[str], schedule: str, readable: dict[str, crm.CrmField]
) -> SyncSource:
    added = [name for name in chosen if name not in source.fields]
    removed = [name for name in source.fields if name not in chosen]
    data_extension = source.data_extension
    data_extension.fields.filter(name__in=removed).delete()
    last = data_extension.fields.order_by("-ordinal").values_list("ordinal", flat=True).first()
    _add_columns(data_extension, added, readable, start=(last or 0) + 1)
    source.fields, source.schedule = chosen, schedule
    source.backfill = source.backfill or bool(added)
    source.save(update_fields=["fields", "schedule", "backfill"])
    return source


@transaction.atomic
def source_pause(*, source: SyncSource, paused: bool, actor: User | None = None) -> SyncSource:
    """Pause or resume the source's scheduled runs (a paused source catches up on resume);
    audited when the state changes."""
    wanted = SyncState.PAUSED if paused else SyncState.ACTIVE
    old = SyncSource.objects.select_for_update().values_list("state", flat=True).get(pk=source.pk)
    source.state = wanted
    if old != wanted:
        SyncSource.objects.filter(pk=source.pk).update(state=wanted)
        action = "sync.paused" if paused else "sync.resumed"
        sync_audit(source.account, actor, action, source.de_name, {"state": old}, {"state": wanted})
    return source
