"""Migrate Existing Users, auto-connection within the 14-day window, and the result files."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import UTC

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect import services
from tandem.engagement.connect.client import CrmClient, CrmError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationRun,
    UserConnectionState,
)
from tandem.engagement.content.services import content_file_save, my_documents_get_or_create

# Users still waiting for auto-connection (LEGACY: the upgrade completed without a migration).
WAITING = (UserConnectionState.PENDING, UserConnectionState.LEGACY)
CSV_COLUMNS = (
    "engagement_username",
    "crm_username",
    "crm_user_id",
    "status",
    "error_code",
    "error_message",
    "attempted_at",
)


@dataclass(frozen=True)
class MigrationRow:
    """One user's attempt, as the CSV files and the results popup show it."""

    engagement_username: str
    crm_username: str
    crm_user_id: str
    status: str
    error_code: str
    error_message: str
    attempted_at: str


def _now_iso() -> str:
    return timezone.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def user_connect_attempt(
    *, connection: CrmConnection, mapping: ConnectedUser, client: CrmClient
) -> MigrationRow:
    """JWT bearer for the mapped CRM username; the mapping records the outcome."""
    attempted = _now_iso()
    try:
        token = services._jwt(connection, mapping.crm_username, client)
        identity = client.identity(token=token)
        if not identity.org_id or identity.org_id != connection.org_id:
            raise CrmError(
                "org_mismatch",
                f"the CRM user belongs to org {identity.org_id or '(unknown)'}, "
                f"not to the connected org {connection.org_id}",
            )
    except CrmError as exc:
        _mapping_outcome(mapping, UserConnectionState.PENDING, exc.code, exc.message)
        return MigrationRow(
            mapping.user.get_username(),
            mapping.crm_username,
            mapping.crm_user_id,
            "failure",
            exc.code,
            exc.message,
            attempted,
        )
    services._usage_record(connection.account_id, mapping.crm_username)
    mapping.crm_user_id = identity.user_id or mapping.crm_user_id
    _mapping_outcome(mapping, UserConnectionState.CONNECTED, "", "")
    return MigrationRow(
        mapping.user.get_username(),
        mapping.crm_username,
        mapping.crm_user_id,
        "success",
        "",
        "",
        attempted,
    )


def _mapping_outcome(mapping: ConnectedUser, state: str, code: str, message: str) -> bool:
    """Record one attempt's outcome, only while the account still uses the Connected App and
    the user is still waiting (a rollback, a closed window or a concurrent success wins)."""
    now = timezone.now()
    values: dict[str, object] = {
        "state": state,
        "crm_user_id": mapping.crm_user_id,
        "last_error_code": code[:80],
        "last_error_message": message[:255],
        "last_attempt_at": now,
    }
    if state == UserConnectionState.CONNECTED:
        values["connected_at"] = now
    applied = ConnectedUser.objects.filter(
        pk=mapping.pk,
        state__in=WAITING,
        account__crm_connection__state=ConnectionState.CONNECTED_APP,
    ).update(**values)
    if applied:
        for name, value in values.items():
            setattr(mapping, name, value)
    return bool(applied)


def window_is_open(connection: CrmConnection) -> bool:
    """Auto-connection's 14 days: open from the upgrade until `window_ends_at`, exclusive."""
    return (
        connection.state == ConnectionState.CONNECTED_APP
        and connection.window_ends_at is not None
        and timezone.now() < connection.window_ends_at
    )


def users_migrate(*, actor: User | None, connection: CrmConnection) -> MigrationRun:
    """Reconnect every previously connected user through the connected app; write the files.

    One run at a time per account, claimed by a conditional UPDATE: a double submit gets a
    clear refusal instead of a second run, second files and twice the CRM calls."""
    connection.refresh_from_db()
    if connection.state != ConnectionState.CONNECTED_APP:
        raise services.ConnectStateError("Users migrate once the account uses the Connected App.")
    if not window_is_open(connection):
        window_close(connection)
        raise services.ConnectStateError(
            "The 14-day auto-connection window has ended: users who were not reconnected "
            "connect by hand (Connect on Salesforce Integration)."
        )
    if not _migration_claim(connection):
        raise services.ConnectStateError(
            "Migrate Existing Users is already running for this account; wait for its results."
        )
    try:
        client = services.crm_client()
        candidates = (
            ConnectedUser.objects.select_related("user")
            .filter(account_id=connection.account_id, was_legacy=True, state__in=WAITING)
            .order_by("pk")
        )
        rows = [
            user_connect_attempt(connection=connection, mapping=m, client=client)
            for m in candidates
        ]
        return _run_save(actor, connection, rows)
    finally:
        CrmConnection.objects.filter(pk=connection.pk).update(migration_claimed_at=None)


def _migration_claim(connection: CrmConnection) -> bool:
    now = timezone.now()
    free = Q(migration_claimed_at__isnull=True) | Q(
        migration_claimed_at__lte=now - services.MIGRATION_LEASE
    )
    return bool(
        CrmConnection.objects.filter(
            free, pk=connection.pk, state=ConnectionState.CONNECTED_APP, window_ends_at__gt=now
        ).update(migration_claimed_at=now)
    )


@transaction.atomic
def _run_save(
    actor: User | None, connection: CrmConnection, rows: list[MigrationRow]
) -> MigrationRun:
    succeeded = sum(row.status == "success" for row in rows)
    run = MigrationRun.objects.create(
        account_id=connection.account_id,
        actor=actor,
        succeeded=succeeded,
        failed=len(rows) - succeeded,
        rows=[asdict(row) for row in rows],
    )
    if actor is not None and connection.account.my_documents_in_content:
        run.files = _files_write(actor, rows)
        run.save(update_fields=["files"])
    services._audit(
        connection,
        actor,
        "connect.users_migrated",
        f"run {run.pk}",
        None,
        {"succeeded": run.succeeded, "failed": run.failed, "files": run.files},
    )
    return run


def migration_csv(rows: list[MigrationRow]) -> bytes:
    """RFC 4180 CSV, UTF-8, header always present."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        writer.writerow([getattr(row, column) for column in CSV_COLUMNS])
    return buffer.getvalue().encode("utf-8")


def _files_write(actor: User, rows: list[MigrationRow]) -> list[str]:
    folder = my_documents_get_or_create(user=actor)
    day = timezone.now().astimezone(UTC).strftime("%Y-%m-%d")
    names = []
    for kind, status in (("migrationsuccess", "success"), ("migrationfailures", "failure")):
        chosen = [row for row in rows if row.status == status]
        saved = content_file_save(
            owner=actor, folder=folder, name=f"{day}_{kind}.csv", data=migration_csv(chosen)
        )
        names.append(saved.name)
    return names


def user_auto_connect(*, mapping: ConnectedUser) -> bool:
    """On next use, within the window: reconnect a user the migration could not; True if done."""
    connection = CrmConnection.objects.get(account_id=mapping.account_id)
    if mapping.state == UserConnectionState.CONNECTED:
        return True
    if connection.state != ConnectionState.CONNECTED_APP or not mapping.was_legacy:
        return False
    if not window_is_open(connection):
        window_close(connection)
        return False
    row = user_connect_attempt(connection=connection, mapping=mapping, client=services.crm_client())
    return row.status == "success"


def auto_connect_sweep() -> int:
    """The periodic retry: pending users within their window; close windows that ended."""
    reconnected = 0
    now = timezone.now()
    for connection in CrmConnection.objects.filter(state=ConnectionState.CONNECTED_APP):
        if connection.window_ends_at and now >= connection.window_ends_at:
            window_close(connection)
            continue
        pending = ConnectedUser.objects.select_related("user").filter(
            account_id=connection.account_id, state__in=WAITING
        )
        reconnected += sum(user_auto_connect(mapping=mapping) for mapping in pending)
    return reconnected


@transaction.atomic
def window_close(connection: CrmConnection) -> bool:
    """After the 14 days: legacy passwords go; users not reconnected must connect by hand.

    Idempotent (True only for the run that closed it): whether the passwords were erased
    early or not, every user still waiting for auto-connection ends `disconnected`.
    """
    locked = CrmConnection.objects.select_for_update().get(pk=connection.pk)
    if locked.state != ConnectionState.CONNECTED_APP or window_is_open(locked):
        return False
    mappings = ConnectedUser.objects.filter(account_id=locked.account_id)
    waiting = mappings.filter(state__in=WAITING)
    if (
        not locked.legacy_secret
        and not waiting.exists()
        and not mappings.exclude(legacy_secret="").exists()
    ):
        return False
    disconnected = list(waiting.values_list("crm_username", flat=True))
    waiting.update(state=UserConnectionState.DISCONNECTED)
    services._erase_legacy(locked)
    locked.save(update_fields=["legacy_secret"])
    services._audit(
        locked,
        None,
        "connect.window_closed",
        locked.system_username,
        None,
        {"disconnected": disconnected},
    )
    connection.legacy_secret = ""
    return True
