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
from contextlib import closing, suppress
from dataclasses import asdict
from datetime import UTC, datetime
from itertools import islice

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from tandem.engagement.accounts.models import User
from tandem.engagement.connect.client import CrmClient, CrmError
from tandem.engagement.connect.errors import ConnectStateError
from tandem.engagement.connect.models import (
    OUTCOME_FIELDS,
    ConnectedUser,
    ConnectionState,
    CrmConnection,
    MigrationOutcome,
    MigrationRun,
    MigrationState,
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

# The migration files' columns are the fields of an outcome, in the same order.
CSV_COLUMNS = OUTCOME_FIELDS
# Outcomes are recorded in batches, at most this many users or this many seconds apart: a
# worker killed mid-run loses only the attempts not yet recorded, retried by the next run.
RECORD_BATCH = 200
RECORD_SECONDS = 2.0
QUEUED = 4  # users queued per worker thread


MIGRATE_TASK = "engagement.connect.migrate_users"
ALREADY_RUNNING = (
    "Migrate Existing Users is already running for this account; wait for its results."
)


def migration_start(*, actor: User | None, connection: CrmConnection) -> MigrationRun:
    """Migrate Existing Users from a button: the run the worker carries out, to watch.

    A run already under way (its lease live) is returned as it is, so a second click shows
    its progress instead of starting another; a run whose worker died (its lease lapsed) is
    resumed, the same run going on with the users it has not done yet."""
    run, claimed = _run_claim(actor, connection)
    if claimed:
        migration_enqueue(run.pk)
    return run


def migration_enqueue(run_id: int) -> None:
    """Have a worker carry out the run once the transaction that claimed it commits."""
    # Sent by name: the task module is an edge this service never imports (and the web
    # process, which never loads it, has no registry entry for it).
    transaction.on_commit(lambda: current_app.send_task(MIGRATE_TASK, args=(run_id,)))


def users_migrate(*, actor: User | None, connection: CrmConnection) -> MigrationRun:
    """Migrate Existing Users in this process (the CLI's default): the run, once done.

    One run at a time per account, claimed by a conditional UPDATE: while another run holds
    the account, a clear refusal instead of a second run, second files and twice the CRM
    calls. A run whose process died is resumed once its lease lapses."""
    run, claimed = _run_claim(actor, connection)
    if not claimed:
        raise ConnectStateError(ALREADY_RUNNING)
    migration_execute(run_id=run.pk)
    run.refresh_from_db()
    return run


def _run_check(connection: CrmConnection) -> None:
    connection.refresh_from_db()
    if connection.state != ConnectionState.CONNECTED_APP:
        raise ConnectStateError("Users migrate once the account uses the Connected App.")
    if not window_is_open(connection):
        window_close(connection)
        if not migration_running(connection):
            migration_end_unfinished(connection)
        raise ConnectStateError(
            "The 14-day auto-connection window has ended: users who were not reconnected "
            "connect by hand (Connect on Salesforce Integration)."
        )


def _run_claim(actor: User | None, connection: CrmConnection) -> tuple[MigrationRun, bool]:
    """The account's run, queued under a fresh claim (True), or the run holding the account
    (False). A run left unfinished (its worker died) is taken up again, never a new one."""
    _run_check(connection)
    with transaction.atomic():
        claim = _migration_claim(connection)
        if claim is not None:
            run = migration_unfinished(connection.account_id)
            if run is None:
                run = MigrationRun(account_id=connection.account_id, actor=actor)
            run.total = run.processed + len(_candidates(connection, run))
            run.state, run.claim = MigrationState.QUEUED, claim
            run.save()
            return run, True
    run = migration_unfinished(connection.account_id)
    if run is None:  # held by a run of the code before runs were resumable
        raise ConnectStateError(ALREADY_RUNNING)
    return run, False


def migration_end_unfinished(connection: CrmConnection) -> MigrationRun | None:
    """End, as it stands, a run its worker left unfinished once the account can no longer
    take it up again (a rollback, the window's end): its files list the users it recorded,
    and a later upgrade's runs start afresh. Only called when no run holds the account."""
    run = migration_unfinished(connection.account_id)
    if run is not None:
        _run_finish(run, connection, run.claim)
    return run


def migration_unfinished(account_id: int) -> MigrationRun | None:
    return (
        MigrationRun.objects.filter(account_id=account_id)
        .exclude(state=MigrationState.DONE)
        .order_by("pk")
        .first()
    )


def _candidates(connection: CrmConnection, run: MigrationRun) -> list[ConnectedUser]:
    """The users still waiting that this run has not tried yet (a resumed run's rows name the
    users its first part recorded: they are in its files already, never twice)."""
    done = set(run.outcomes.values_list("engagement_username", flat=True)) if run.pk else set()
    waiting = (
        ConnectedUser.objects.select_related("user")
        .filter(account_id=connection.account_id, was_legacy=True, state__in=WAITING)
        .order_by("pk")
    )
    return [mapping for mapping in waiting if mapping.user.get_username() not in done]


def migration_execute(*, run_id: int) -> MigrationRun | None:
    """The worker's part: try the run's users, record their outcomes batch by batch (each
    batch with the run's rows, in one transaction), then write the files.

    The run renews its claim as it goes; if its process dies, the claim lapses after the
    lease and the run is taken up again with the users it has not recorded. Once the CRM does
    not answer at all, the users left are not tried (each would wait for the client's
    retries): their rows say so, and they stay waiting for the next run or the periodic
    retry. None when the run is not this delivery's to carry out (done, or taken meanwhile)."""
    run = MigrationRun.objects.select_related("actor").filter(pk=run_id).first()
    if run is None or run.claim is None:
        return None
    connection = CrmConnection.objects.select_related("account").get(account_id=run.account_id)
    claim = _run_take(run, connection)
    if claim is None:
        return None  # a duplicate delivery, or a run already taken up again by another
    try:
        claim = _run_through(run, connection, claim)
        if claim is not None:
            _run_finish(run, connection, claim)
    finally:  # the latest claim, renewed or not: an error frees the account at once
        _claim_release(connection, run.claim if run.claim is not None else claim)
    return run


def _run_through(run: MigrationRun, connection: CrmConnection, claim: datetime) -> datetime | None:
    """Try and record every candidate; the claim still held at the end, or None if lost."""
    batch: list[Attempt] = []
    flushed = time.monotonic()
    candidates = _candidates(connection, run)
    with closing(_attempts(connection, candidates, crm_client())) as attempts:
        for attempt in attempts:
            batch.append(attempt)
            if (
                len(batch) < RECORD_BATCH
                and time.monotonic() - flushed < RECORD_SECONDS
                and not _claim_due(claim)
            ):
                continue
            renewed = _batch_record(run, connection, batch, claim)
            batch, flushed = [], time.monotonic()
            if renewed is None:
                return None  # the claim lapsed and the run was taken up again: it goes on
            claim = renewed
    return _batch_record(run, connection, batch, claim)


def _run_take(run: MigrationRun, connection: CrmConnection) -> datetime | None:
    """Take the queued run from the claim its starter made (one UPDATE each, conditional)."""
    queued_claim, now = run.claim, timezone.now()
    with transaction.atomic():
        taken = MigrationRun.objects.filter(
            pk=run.pk, claim=queued_claim, state=MigrationState.QUEUED
        ).update(claim=now, state=MigrationState.RUNNING)
        held = CrmConnection.objects.filter(
            pk=connection.pk, migration_claimed_at=queued_claim
        ).update(migration_claimed_at=now)
        if not (taken and held):
            transaction.set_rollback(True)
            return None
    run.claim, run.state = now, MigrationState.RUNNING
    return now


def _batch_record(
    run: MigrationRun, connection: CrmConnection, batch: list[Attempt], claim: datetime
) -> datetime | None:
    """The batch's outcomes and its rows in the run, committed together, so a user recorded
    as reconnected is always in its run's rows (and files); the claim renewed when due. None,
    recording nothing, when the claim is no longer this run's. Only the batch's own rows are
    written (the run's counts go up by theirs), whatever the run recorded before."""
    renewed = timezone.now() if _claim_due(claim) else claim
    with transaction.atomic():
        rows = attempts_record(connection, batch)
        succeeded = sum(row.status == "success" for row in rows)
        failed = len(rows) - succeeded
        kept = MigrationRun.objects.filter(pk=run.pk, claim=claim).update(
            succeeded=F("succeeded") + succeeded, failed=F("failed") + failed, claim=renewed
        )
        held = CrmConnection.objects.filter(pk=connection.pk, migration_claimed_at=claim).update(
            migration_claimed_at=renewed
        )
        if not (kept and held):
            transaction.set_rollback(True)
            return None
        MigrationOutcome.objects.bulk_create(
            [MigrationOutcome(run_id=run.pk, **asdict(row)) for row in rows], batch_size=1000
        )
    run.succeeded, run.failed, run.claim = run.succeeded + succeeded, run.failed + failed, renewed
    return renewed


def _claim_release(connection: CrmConnection, claim: datetime | None) -> None:
    if claim is not None:
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


def _claim_due(claim: datetime) -> bool:
    """A quarter of the lease has passed since the claim was made or renewed."""
    return timezone.now() - claim >= migration_lease() / 4


@transaction.atomic
def _run_finish(run: MigrationRun, connection: CrmConnection, claim: datetime | None) -> None:
    """The files of every row the run recorded (its resumed parts too), and the run done."""
    rows = [MigrationRow(**row) for row in run.rows]
    actor = run.actor
    files = (
        _files_write(actor, rows)
        if actor is not None and connection.account.my_documents_in_content
        else []
    )
    finished = MigrationRun.objects.filter(pk=run.pk, claim=claim).update(
        state=MigrationState.DONE, files=files, finished_at=timezone.now(), claim=None
    )
    if not finished:
        transaction.set_rollback(True)
        return
    run.state, run.files, run.claim = MigrationState.DONE, files, None
    audit(
        connection,
        actor,
        "connect.users_migrated",
        f"run {run.pk}",
        None,
        {"succeeded": run.succeeded, "failed": run.failed, "files": run.files},
    )


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
            if not migration_running(connection):
                migration_end_unfinished(connection)
            continue
        if migration_running(connection):
            continue  # Migrate Existing Users is trying these users right now
        if migration_unfinished(connection.account_id) is not None:
            with suppress(ConnectStateError):  # e.g. rolled back meanwhile: nothing to resume
                migration_start(actor=None, connection=connection)  # its worker died: go on
            continue
        pending = ConnectedUser.objects.select_related("user").filter(
            account_id=connection.account_id, state__in=WAITING
        )
        reconnected += sum(user_auto_connect(mapping=mapping) for mapping in pending)
    return reconnected
