"""Migrate Existing Users: one run at a time per account, its files in My Documents, and the
periodic retry within the 14-day window."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect.errors import ConnectStateError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationRun,
)
from tandem.engagement.connect.services.autoconnect import (
    WAITING,
    MigrationRow,
    mapping_pending,
    migration_lease,
    migration_running,
    user_auto_connect,
    user_connect_attempt,
    window_close,
    window_is_open,
)
from tandem.engagement.connect.services.records import audit
from tandem.engagement.connect.services.seam import crm_client
from tandem.engagement.content.services import content_file_save, my_documents_get_or_create

CSV_COLUMNS = (
    "engagement_username",
    "crm_username",
    "crm_user_id",
    "status",
    "error_code",
    "error_message",
    "attempted_at",
)


def users_migrate(*, actor: User | None, connection: CrmConnection) -> MigrationRun:
    """Reconnect every previously connected user through the connected app; write the files.

    One run at a time per account, claimed by a conditional UPDATE: a double submit gets a
    clear refusal instead of a second run, second files and twice the CRM calls. The run
    renews its claim as it goes; if its process dies, the claim lapses after the lease and a
    new run tries only the users still waiting. Once the CRM does not answer at all, the users
    left are not tried (each would wait for the client's retries): their rows say so, and
    they stay waiting for the next run or the periodic retry."""
    connection.refresh_from_db()
    if connection.state != ConnectionState.CONNECTED_APP:
        raise ConnectStateError("Users migrate once the account uses the Connected App.")
    if not window_is_open(connection):
        window_close(connection)
        raise ConnectStateError(
            "The 14-day auto-connection window has ended: users who were not reconnected "
            "connect by hand (Connect on Salesforce Integration)."
        )
    claim = _migration_claim(connection)
    if claim is None:
        raise ConnectStateError(
            "Migrate Existing Users is already running for this account; wait for its results."
        )
    try:
        client = crm_client()
        candidates = (
            ConnectedUser.objects.select_related("user")
            .filter(account_id=connection.account_id, was_legacy=True, state__in=WAITING)
            .order_by("pk")
        )
        rows: list[MigrationRow] = []
        unreachable: MigrationRow | None = None
        for mapping in candidates:
            if unreachable is not None:
                rows.append(_not_tried(mapping, unreachable))
                continue
            claim = _claim_renew(connection, claim)
            if claim is None:
                break  # the claim lapsed and another run took the account: it goes on
            row = user_connect_attempt(connection=connection, mapping=mapping, client=client)
            rows.append(row)
            if row.error_code == UNREACHABLE:
                unreachable = row
        return _run_save(actor, connection, rows)
    finally:
        CrmConnection.objects.filter(pk=connection.pk, migration_claimed_at=claim).update(
            migration_claimed_at=None
        )


UNREACHABLE = "unreachable"  # the client's code: the CRM did not answer, even after retries


def _not_tried(mapping: ConnectedUser, cause: MigrationRow) -> MigrationRow:
    """The row of a user left untried because the CRM stopped answering; the user waits."""
    message = f"not tried: {cause.error_message}; tried again by the next run or the retry"
    mapping_pending(mapping, UNREACHABLE, message)
    return MigrationRow(
        mapping.user.get_username(),
        mapping.crm_username,
        mapping.crm_user_id,
        "failure",
        UNREACHABLE,
        message,
        cause.attempted_at,
    )


def _migration_claim(connection: CrmConnection) -> datetime | None:
    """Claim the account for one run; the claim's time, or None when another run holds it."""
    now = timezone.now()
    free = Q(migration_claimed_at__isnull=True) | Q(
        migration_claimed_at__lte=now - migration_lease()
    )
    claimed = CrmConnection.objects.filter(
        free, pk=connection.pk, state=ConnectionState.CONNECTED_APP, window_ends_at__gt=now
    ).update(migration_claimed_at=now)
    return now if claimed else None


def _claim_renew(connection: CrmConnection, claim: datetime) -> datetime | None:
    """Renew this run's claim once a quarter of the lease has passed (one UPDATE, only while
    the claim is still this run's); None if it lapsed and another run claimed the account."""
    now = timezone.now()
    if now - claim < migration_lease() / 4:
        return claim
    renewed = CrmConnection.objects.filter(pk=connection.pk, migration_claimed_at=claim).update(
        migration_claimed_at=now
    )
    return now if renewed else None


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
    audit(
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


def auto_connect_sweep() -> int:
    """The periodic retry: pending users within their window; close windows that ended."""
    reconnected = 0
    now = timezone.now()
    for connection in CrmConnection.objects.filter(state=ConnectionState.CONNECTED_APP):
        if connection.window_ends_at and now >= connection.window_ends_at:
            window_close(connection)
            continue
        if migration_running(connection):
            continue  # Migrate Existing Users is trying these users right now
        pending = ConnectedUser.objects.select_related("user").filter(
            account_id=connection.account_id, state__in=WAITING
        )
        reconnected += sum(user_auto_connect(mapping=mapping) for mapping in pending)
    return reconnected
