"""Services of Migrate Existing Users: one run at a time per account, its files in My
Documents, and the periodic retry within the 14-day window."""

from __future__ import annotations

import csv
import io
import threading
import time
from collections import deque
from collections.abc import Generator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import islice

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect.client import CrmClient, CrmError
from tandem.engagement.connect.errors import ConnectStateError
from tandem.engagement.connect.models import (
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationRun,
)
from tandem.engagement.connect.services.autoconnect import (
    WAITING,
    Attempt,
    MigrationRow,
    attempts_record,
    migration_lease,
    migration_running,
    user_attempt,
    user_auto_connect,
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
# Outcomes are recorded in batches, at most this many users or this many seconds apart: a
# worker killed mid-run loses only the attempts not yet recorded, retried by the next run.
RECORD_BATCH = 200
RECORD_SECONDS = 2.0
QUEUED = 4  # users queued per worker thread


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
        candidates = list(
            ConnectedUser.objects.select_related("user")
            .filter(account_id=connection.account_id, was_legacy=True, state__in=WAITING)
            .order_by("pk")
        )
        rows: list[MigrationRow] = []
        batch: list[Attempt] = []
        flushed = time.monotonic()
        with closing(_attempts(connection, candidates, crm_client())) as attempts:
            for attempt in attempts:
                batch.append(attempt)
                if (
                    len(batch) < RECORD_BATCH
                    and time.monotonic() - flushed < RECORD_SECONDS
                    and not _claim_due(claim)
                ):
                    continue
                rows += attempts_record(connection, batch)
                batch, flushed = [], time.monotonic()
                claim = _claim_renew(connection, claim)
                if claim is None:
                    break  # the claim lapsed and another run took the account: it goes on
        rows += attempts_record(connection, batch)
        return _run_save(actor, connection, rows)
    finally:
        CrmConnection.objects.filter(pk=connection.pk, migration_claimed_at=claim).update(
            migration_claimed_at=None
        )


UNREACHABLE = "unreachable"  # the client's code: the CRM did not answer, even after retries


def _attempts(
    connection: CrmConnection, candidates: list[ConnectedUser], client: CrmClient
) -> Generator[Attempt]:
    """Each candidate's attempt, in order. The CRM calls of up to CONNECT_MIGRATION_THREADS
    users run at once in worker threads (they touch no database); the caller records.

    Once an attempt finds the CRM not answering, no further user is submitted, and those
    queued but not started yet make no call: all are not tried (`_not_tried`)."""
    stop = _Stop(connection, client)
    threads = min(settings.CONNECT_MIGRATION_THREADS, len(candidates))
    if threads <= 1:
        for mapping in candidates:
            yield stop.attempt(mapping)
        return
    pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="migrate-users")
    try:
        rest = iter(candidates)
        # Queued ahead of the reader, so that no thread idles while a batch is recorded.
        queued = deque(pool.submit(stop.attempt, m) for m in islice(rest, threads * QUEUED))
        while queued:
            yield queued.popleft().result()
            following = next(rest, None) if stop.cause is None else None
            if following is not None:
                queued.append(pool.submit(stop.attempt, following))
        for mapping in rest:  # never submitted: the CRM had stopped answering
            yield stop.attempt(mapping)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)  # an error stops the calls not started


class _Stop:
    """The first attempt the CRM did not answer, shared by the worker threads: from then on
    an attempt makes no call and its user is not tried."""

    def __init__(self, connection: CrmConnection, client: CrmClient) -> None:
        self.connection, self.client = connection, client
        self.cause: Attempt | None = None
        self._lock = threading.Lock()

    def attempt(self, mapping: ConnectedUser) -> Attempt:
        cause = self.cause
        if cause is not None:
            return _not_tried(mapping, cause)
        attempt = user_attempt(connection=self.connection, mapping=mapping, client=self.client)
        if attempt.error is not None and attempt.error.code == UNREACHABLE:
            with self._lock:
                if self.cause is None:
                    self.cause = attempt
        return attempt


def _not_tried(mapping: ConnectedUser, cause: Attempt) -> Attempt:
    """A user left untried because the CRM stopped answering: recorded as still waiting,
    with the cause, for the next run or the periodic retry."""
    reason = cause.error.message if cause.error else ""
    message = f"not tried: {reason}; tried again by the next run or the retry"
    return Attempt(mapping, cause.attempted_at, error=CrmError(UNREACHABLE, message))


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
    if not _claim_due(claim):
        return claim
    now = timezone.now()
    renewed = CrmConnection.objects.filter(pk=connection.pk, migration_claimed_at=claim).update(
        migration_claimed_at=now
    )
    return now if renewed else None


def _claim_due(claim: datetime) -> bool:
    """A quarter of the lease has passed since the claim was made or renewed."""
    return timezone.now() - claim >= migration_lease() / 4


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
