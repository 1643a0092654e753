"""One run of a synchronized data source: the incremental copy.

A run holds the source's lease (one run at a time; renewed per page, and while a Bulk query
job runs, so a dead run's lease lapses). It first removes the records deleted in the CRM since
the deleted high-water mark (queryAll … IsDeleted = true), then reads the records whose
SystemModstamp is at or after the high-water mark less an overlap window (clock skew,
transactions committed late), ordered by SystemModstamp. Each page is applied by Id (insert,
or update when the values changed) in one transaction with the new high-water mark, so a run
that dies resumes from the last committed page and re-reading a page changes nothing. With no
mark yet, every record is read (by a Bulk query job when there are many: syncs/bulk.py). A
run that fails (the CRM down or refusing) backs the source off: see `backoff_delay`.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tandem.engagement.connect.availability import Availability, connect_status
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.data.models import DataExtensionRow
from tandem.engagement.syncs import bulk as syncbulk
from tandem.engagement.syncs import crm
from tandem.engagement.syncs.errors import SyncError
from tandem.engagement.syncs.models import RunOutcome, SyncSource
from tandem.engagement.syncs.rows import (
    PageWriter,
    Pair,
    page_transaction,
    rows_copy_new,
    rows_write,
)

STAMP = "SystemModstamp"
SAFE_ID = re.compile(r"[A-Za-z0-9]{15,18}")
RECONCILE_EVERY = timedelta(days=1)  # the walk that finds records no longer visible


def overlap() -> timedelta:
    return timedelta(seconds=settings.SYNC_OVERLAP_SECONDS)


def lease() -> timedelta:
    return timedelta(seconds=settings.SYNC_LEASE_SECONDS)


class LeaseLost(Exception):
    """Another run took the source over (this one's lease lapsed): stop without writing."""


@dataclass
class RunResult:
    ran: bool
    outcome: str
    added: int = 0
    updated: int = 0
    deleted: int = 0
    message: str = ""


def soql_time(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def crm_time(value: str) -> datetime:
    """The CRM's `2026-11-29T08:00:00.000+0000`."""
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def text(value: Any) -> str:
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- the lease ---------------------------------------------------------------------------------


def lease_claim(source_id: int) -> str | None:
    """Claim the source for one run; None when a live run holds it."""
    now, token = timezone.now(), uuid.uuid4().hex
    free = SyncSource.objects.filter(pk=source_id).filter(
        lease_until__isnull=True
    ) | SyncSource.objects.filter(pk=source_id, lease_until__lt=now)
    claimed = SyncSource.objects.filter(pk__in=free.values("pk")).update(
        lease_token=token, lease_until=now + lease()
    )
    return token if claimed else None


def _renewed(source_id: int, token: str, **changes: Any) -> None:
    """Renew the lease with this page's changes; LeaseLost (rolling the page back) when
    another run holds the source now."""
    updated = SyncSource.objects.filter(pk=source_id, lease_token=token).update(
        lease_until=timezone.now() + lease(), **changes
    )
    if not updated:
        raise LeaseLost


class LeaseKeeper:
    """Renews the lease while the run waits on the CRM without committing anything (a Bulk
    query job being created, run and read): at most once a quarter of the lease, so a page
    committed by the writer thread is seldom waited for. LeaseLost when another run holds the
    source now, which stops the wait before any write."""

    def __init__(self, source_id: int, token: str) -> None:
        self.source_id, self.token = source_id, token
        self.renewed = timezone.now()

    @property
    def every(self) -> float:
        """Seconds between two calls at most, so that the lease never lapses while the run
        waits (a Bulk job's polls grow to 5 s apart; a lease may be shorter)."""
        return lease().total_seconds() / 4

    def __call__(self) -> None:
        now = timezone.now()
        if (now - self.renewed).total_seconds() < self.every:
            return
        _renewed(self.source_id, self.token)
        self.renewed = now


def lease_release(source_id: int, token: str, **changes: Any) -> None:
    SyncSource.objects.filter(pk=source_id, lease_token=token).update(
        lease_token="", lease_until=None, **changes
    )


# --- the run -----------------------------------------------------------------------------------


def source_run(*, source_id: int) -> RunResult:
    """Run the source once if Connect is available and no other run holds it."""
    source = SyncSource.objects.select_related("data_extension").filter(pk=source_id).first()
    if source is None:
        raise SyncError("That synchronized data source does not exist.")
    status = connect_status(source.account_id)
    if status.availability is not Availability.AVAILABLE:
        # Paused with Connect: the run catches up from its mark once Connect is back.
        SyncSource.objects.filter(pk=source_id).exclude(outcome=RunOutcome.RUNNING).update(
            outcome=RunOutcome.WAITING
        )
        return RunResult(False, RunOutcome.WAITING, message=status.reason)
    token = lease_claim(source_id)
    if token is None:
        return RunResult(
            False, RunOutcome.RUNNING, message="Another run of this source is going on."
        )
    return _run_leased(source, token)


def _run_leased(source: SyncSource, token: str) -> RunResult:
    now = timezone.now()
    _renewed(
        source.pk,
        token,
        outcome=RunOutcome.RUNNING,
        last_run_at=now,
        rows_added=0,
        rows_updated=0,
        rows_deleted=0,
        last_error="",
    )
    result = RunResult(True, RunOutcome.DONE)
    connection = CrmConnection.objects.get(account_id=source.account_id)
    try:
        _deletes(connection, source, token, result)
        full = source.high_water is None or source.backfill
        if full:
            _copy(connection, source, token, result)
        else:
            _changes(connection, source, token, result)
        if not full and _reconcile_due(source):
            _reconcile(connection, source, token, result)
    except (CrmError, ConnectError, LeaseLost) as exc:
        result.outcome, result.message = RunOutcome.FAILED, _why(exc)
        # Another run taking the source over is no failure of the CRM's: only those back off
        # (and a run that lost its lease writes nothing anyway).
        backoff = {} if isinstance(exc, LeaseLost) else _backoff(source.pk)
        lease_release(
            source.pk, token, outcome=RunOutcome.FAILED, last_error=result.message, **backoff
        )
        return result
    done = timezone.now()
    lease_release(
        source.pk,
        token,
        outcome=RunOutcome.DONE,
        last_success_at=done,
        consecutive_failures=0,
        next_attempt_at=None,
    )
    CrmConnection.objects.filter(pk=connection.pk).update(last_sync_at=done)
    return result


def backoff_delay(failures: int) -> timedelta:
    """How long the scheduler leaves a source alone after `failures` failed runs in a row:
    TANDEM_SYNC_BACKOFF_SECONDS, doubled for each further failure, at most
    TANDEM_SYNC_BACKOFF_MAX_SECONDS."""
    base, most = settings.SYNC_BACKOFF_SECONDS, settings.SYNC_BACKOFF_MAX_SECONDS
    return timedelta(seconds=min(most, base * 2 ** min(failures - 1, 32)))


def _backoff(source_id: int) -> dict[str, Any]:
    """One more failed run in a row (counted from the row, as the lease keeps it now)."""
    failures = 1 + SyncSource.objects.values_list("consecutive_failures", flat=True).get(
        pk=source_id
    )
    return {
        "consecutive_failures": failures,
        "next_attempt_at": timezone.now() + backoff_delay(failures),
    }


def _why(exc: Exception) -> str:
    if isinstance(exc, CrmError):
        return f"The CRM refused or did not answer: {exc.message} ({exc.code})"
    if isinstance(exc, ConnectError):
        return exc.message
    return "Another run took this source over."


def _deletes(connection: CrmConnection, source: SyncSource, token: str, result: RunResult) -> None:
    soql = f"SELECT Id, {STAMP} FROM {source.object_name} WHERE IsDeleted = true"  # noqa: S608
    if source.deleted_high_water is not None:
        soql += f" AND {STAMP} >= {soql_time(source.deleted_high_water - overlap())}"
    for page in crm.pages(connection, soql + f" ORDER BY {STAMP}", deleted=True):
        if not page:
            continue
        mark = max(crm_time(record[STAMP]) for record in page)
        keys = [str(record["Id"]) for record in page]
        with transaction.atomic():
            removed, _ = DataExtensionRow.objects.filter(
                data_extension_id=source.data_extension_id, key__in=keys
            ).delete()
            _renewed(
                source.pk, token, deleted_high_water=mark, rows_deleted=F("rows_deleted") + removed
            )
        result.deleted += removed


def _select(source: SyncSource) -> str:
    columns = list(dict.fromkeys([*source.fields, STAMP]))
    return f"SELECT {', '.join(columns)} FROM {source.object_name}"  # noqa: S608


def _page_commit(
    source: SyncSource,
    token: str,
    writes: list[Pair],
    fresh: bool,
    counts: dict[str, int],
    changes: dict[str, Any],
) -> None:
    """Write the page's rows and commit `changes` with them, in one transaction (the lease
    renewed in it: a run that lost its lease writes nothing)."""
    with page_transaction():
        rows_write(source.data_extension_id, writes, fresh=fresh)
        _renewed(
            source.pk,
            token,
            rows_added=F("rows_added") + counts["added"],
            rows_updated=F("rows_updated") + counts["updated"],
            **changes,
        )


def _texts(source: SyncSource, page: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """A REST page's records as rows of text: (Id, each field's text)."""
    names = tuple(source.fields)
    return [(str(r["Id"]), *map(text, map(r.get, names))) for r in page]


def page_apply(
    source: SyncSource,
    token: str,
    rows: list[tuple[str, ...]],
    compare: bool,
    writer: PageWriter | None = None,
    **changes: Any,
) -> tuple[int, int]:
    """Apply one page of rows (Id, each field's text): in line, or handed to `writer` (a
    fresh copy only: nothing to compare, so the next page need not wait for this one's rows)."""
    if not compare and connection.vendor == "postgresql":
        names = tuple(source.fields)
        counts = {"added": len(rows), "updated": 0}
        commit = partial(_page_commit_new, source, token, names, rows, counts, changes)
        if writer is not None:
            writer.submit(commit)
        else:
            commit()
        return len(rows), 0
    writes, added, updated = _apply(source, rows, compare=compare)
    counts = {"added": added, "updated": updated}
    if writer is not None and not compare:
        writer.submit(partial(_page_commit, source, token, writes, True, counts, changes))
    else:
        _page_commit(source, token, writes, not compare, counts, changes)
    return added, updated


def _page_commit_new(
    source: SyncSource,
    token: str,
    names: tuple[str, ...],
    rows: list[tuple[str, ...]],
    counts: dict[str, int],
    changes: dict[str, Any],
) -> None:
    """A first copy's page on PostgreSQL: COPY, the JSON built by the database."""
    with page_transaction():
        rows_copy_new(source.data_extension_id, names, rows)
        _renewed(source.pk, token, rows_added=F("rows_added") + counts["added"], **changes)


def _newest_stamp(connection: CrmConnection, source: SyncSource) -> datetime | None:
    soql = f"SELECT {STAMP} FROM {source.object_name} ORDER BY {STAMP} DESC LIMIT 1"  # noqa: S608
    for page in crm.pages(connection, soql):
        return crm_time(page[0][STAMP]) if page else None
    return None


def _copy(connection: CrmConnection, source: SyncSource, token: str, result: RunResult) -> None:
    """Every record, walked in the CRM's own order (by Id, its fastest walk) and resumable
    from the last committed Id: over REST pages, or, when more records are left than
    TANDEM_SYNC_BULK_THRESHOLD, by a Bulk query job. The mark it leaves is the newest
    SystemModstamp from before the walk, so what changes during the walk is read by the next
    run."""
    first = source.high_water is None
    floor, after = source.copy_floor, source.copy_after_id
    if floor is None and not after:
        floor = _newest_stamp(connection, source)
        _renewed(source.pk, token, copy_floor=floor)
    soql = _select(source)
    if after:
        soql += f" WHERE Id > '{after}'"
    compare = bool(after) or not first or source.data_extension.rows.exists()
    with PageWriter() as writer:
        for rows in _copy_pages(connection, source, soql, LeaseKeeper(source.pk, token)):
            if not rows:
                continue
            last = rows[-1][0]
            if not SAFE_ID.fullmatch(last):
                raise CrmError("unknown_error", f"the CRM answered an unexpected Id {last[:40]!r}")
            added, updated = page_apply(
                source,
                token,
                rows,
                compare,
                writer if PageWriter.usable() else None,
                copy_after_id=last,
            )
            result.added += added
            result.updated += updated
    done: dict[str, Any] = {"backfill": False, "copy_after_id": "", "copy_floor": None}
    if first:  # a first copy has nothing to reconcile yet
        done.update(high_water=floor, reconciled_at=timezone.now())
    _renewed(source.pk, token, **done)


def _copy_pages(
    connection: CrmConnection, source: SyncSource, soql: str, keep: LeaseKeeper
) -> Iterator[list[tuple[str, ...]]]:
    """The copy's pages of rows: by a Bulk query job when the first REST page says more
    records are left than the threshold and every field's Bulk text is exact, else over
    REST from that first page. `keep` renews the lease while the job runs (no page commits
    then)."""
    head = crm.first_page(connection, soql)
    total, kinds = int(head.data.get("totalSize") or 0), None
    if total > settings.SYNC_BULK_THRESHOLD:
        kinds = syncbulk.bulk_kinds(connection, source)
    if kinds is not None:
        yield from syncbulk.rows_pages(connection, source, soql, kinds, total, keep, keep.every)
        return
    for page in crm.pages(connection, soql, first=head):
        yield _texts(source, page)


def _changes(connection: CrmConnection, source: SyncSource, token: str, result: RunResult) -> None:
    """The records changed since the mark less the overlap, oldest first; the mark moves with
    each committed page."""
    assert source.high_water is not None
    since = soql_time(source.high_water - overlap())
    soql = f"{_select(source)} WHERE {STAMP} >= {since} ORDER BY {STAMP}, Id"
    for page in crm.pages(connection, soql):
        if not page:
            continue
        mark = max(crm_time(record[STAMP]) for record in page)
        added, updated = page_apply(source, token, _texts(source, page), True, high_water=mark)
        result.added += added
        result.updated += updated


def _apply(
    source: SyncSource, page: list[tuple[str, ...]], *, compare: bool
) -> tuple[list[Pair], int, int]:
    """The page's rows to write (new or changed) and how many are new and changed."""
    names = tuple(source.fields)
    rows = {row[0]: dict(zip(names, row[1:], strict=True)) for row in page}
    if not compare:
        return list(rows.items()), len(rows), 0
    existing = dict(
        DataExtensionRow.objects.filter(
            data_extension_id=source.data_extension_id, key__in=list(rows)
        ).values_list("key", "values")
    )
    writes = [(key, values) for key, values in rows.items() if existing.get(key) != values]
    added = sum(1 for key, _ in writes if key not in existing)
    return writes, added, len(writes) - added


def _reconcile_due(source: SyncSource) -> bool:
    return source.reconciled_at is None or source.reconciled_at < timezone.now() - RECONCILE_EVERY


def _reconcile(
    connection: CrmConnection, source: SyncSource, token: str, result: RunResult
) -> None:
    """Remove the rows of records the system user no longer sees (sharing changed, say)."""
    visible: set[str] = set()
    for page in crm.pages(connection, f"SELECT Id FROM {source.object_name}"):  # noqa: S608
        visible.update(str(record["Id"]) for record in page)
        _renewed(source.pk, token)
    keys = DataExtensionRow.objects.filter(data_extension_id=source.data_extension_id)
    gone = [key for key in keys.values_list("key", flat=True) if key not in visible]
    with transaction.atomic():
        removed = 0
        for start in range(0, len(gone), 2000):
            removed += keys.filter(key__in=gone[start : start + 2000]).delete()[0]
        _renewed(
            source.pk,
            token,
            reconciled_at=timezone.now(),
            rows_deleted=F("rows_deleted") + removed,
        )
    result.deleted += removed
