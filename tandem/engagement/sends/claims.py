"""Services of the delivery pipeline (its writes): claim a batch, record its outcomes,
recover, finish.

A batch is claimed, and the claim committed, before any of its messages is offered to SMTP.
Fresh records are claimed by range: the batch row names the first and last id it took and the
send's `claim_cursor` moves past them, under the send's row lock, so the records themselves are
written once, at their outcome (PostgreSQL rewrote every record and all its index entries at
the claim too: half of its CPU a message). Records queued again after a 4xx or the batch's
deadline are `retry`, and a later batch claims them one by one (status `claimed`, its batch
id). Whatever a lost worker held becomes `unknown` and is never sent again.
"""

from __future__ import annotations

import enum
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from tandem.engagement.sends.conf import DeliveryConfig
from tandem.engagement.sends.message import Recipient
from tandem.engagement.sends.models import (
    OPEN_RECORDS_SQL,
    RecordStatus,
    Send,
    SendBatch,
    SendEvent,
    SendRecord,
    SendStatus,
    Suppression,
    SuppressionReason,
)
from tandem.engagement.sends.smtp import Outcome, Result

LOST_WORKER = "the worker delivering this batch stopped; outcome unknown, not resent automatically"


@dataclass(frozen=True)
class ClaimedBatch:
    """Recipients one loop now owns."""

    id: int
    send_id: int
    recipients: list[Recipient]
    attempts: dict[int, int]
    # The first and last id of the fresh records taken by range; None for a batch of retries.
    span: tuple[int, int] | None = None


# The values as text on PostgreSQL too: `_claimed` decodes them in one json.loads.
_COLUMNS = 'id, subscriber_key, email, "values"{text}, attempts'


def _columns() -> str:
    return _COLUMNS.format(text="::text" if connection.vendor == "postgresql" else "")


def _retry_claim_sql() -> str:
    """Claim up to a batch of `retry` records, each marked `claimed` with the batch's id."""
    table = connection.ops.quote_name(SendRecord._meta.db_table)
    if connection.vendor == "postgresql":
        return (
            f"UPDATE {table} SET status = %s, batch_id = %s WHERE id IN ("  # noqa: S608 (table from model meta)
            f"SELECT id FROM {table} WHERE send_id = %s AND status = %s "
            f"ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED) RETURNING {_columns()}"
        )
    # SQLite's planner uses a partial index only when the query repeats the index's condition
    # (a bound status does not prove it): without it every claim walked all the send's records.
    return (
        f"UPDATE {table} SET status = %s, batch_id = %s WHERE id IN ("  # noqa: S608 (table from model meta)
        f"SELECT id FROM {table} WHERE send_id = %s AND {OPEN_RECORDS_SQL} AND status = %s "
        f"ORDER BY id LIMIT %s) RETURNING {_columns()}"
    )


def _fresh_sql() -> str:
    """Read the next batch of queued records after the cursor (the claim is the cursor's move)."""
    table = connection.ops.quote_name(SendRecord._meta.db_table)
    open_records = "" if connection.vendor == "postgresql" else f"AND {OPEN_RECORDS_SQL} "
    return (
        f"SELECT {_columns()} FROM {table} WHERE send_id = %s {open_records}"  # noqa: S608 (table from model meta)
        "AND status = %s AND id > %s ORDER BY id LIMIT %s"
    )


def _claimed(cursor: Any) -> tuple[list[Recipient], dict[int, int]]:
    """The claimed records as recipients, by id, and their attempts so far."""
    rows = sorted(cursor.fetchall())
    # One json.loads of all the values, not one a record (its per-call cost dominated).
    values = json.loads("[" + ",".join(row[3] for row in rows) + "]")
    recipients = [
        Recipient(record_id, key, address, decoded or {})
        for (record_id, key, address, _text, _tries), decoded in zip(rows, values, strict=True)
    ]
    return recipients, {row[0]: row[4] for row in rows}


def batch_claim(*, send_id: int, worker: str, size: int) -> ClaimedBatch | None:
    """Claim up to `size` records of a running send, records queued again first; None when
    there is nothing to do."""
    now = timezone.now()
    with transaction.atomic():
        # The send's row lock (SQLite: the IMMEDIATE transaction) orders the claims of all
        # loops: each range starts after the last one, and no two take the same record.
        cursor_at = (
            Send.objects.select_for_update()
            .filter(pk=send_id, status=SendStatus.RUNNING)
            .values_list("claim_cursor", flat=True)
            .first()
        )
        if cursor_at is None:
            return None
        batch = SendBatch.objects.create(
            send_id=send_id, worker=worker, claimed_at=now, heartbeat_at=now
        )
        retry = [RecordStatus.CLAIMED, batch.id, send_id, RecordStatus.RETRY, size]
        recipients, attempts = _claim_rows(_retry_claim_sql(), retry)
        span = None
        if not recipients:
            fresh = [send_id, RecordStatus.QUEUED, cursor_at, size]
            recipients, attempts = _claim_rows(_fresh_sql(), fresh)
            if recipients:
                span = (recipients[0].record_id, recipients[-1].record_id)
                Send.objects.filter(pk=send_id).update(claim_cursor=span[1])
        if not recipients:
            batch.delete()
            return None
        SendBatch.objects.filter(pk=batch.id).update(
            size=len(recipients),
            first_record_id=span[0] if span else None,
            last_record_id=span[1] if span else None,
        )
    return ClaimedBatch(batch.id, send_id, recipients, attempts, span)


def _claim_rows(statement: str, params: list[Any]) -> tuple[list[Recipient], dict[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return _claimed(cursor)


def batch_heartbeat(*, batch_id: int) -> bool:
    """Renew a batch's lease while it is delivered; False when it was already finished (taken
    for lost by recovery, then its outcomes are recorded as not ours)."""
    return bool(
        SendBatch.objects.filter(pk=batch_id, finished_at__isnull=True).update(
            heartbeat_at=timezone.now()
        )
    )


def send_reserve_slots(*, send_id: int, count: int, per_second: int) -> datetime:
    """Reserve `count` messages of a rate-limited send's budget; returns when they may start."""
    now = timezone.now()
    with transaction.atomic():
        # The row lock (SQLite: the IMMEDIATE transaction) orders reservations of all workers.
        reserved = (
            Send.objects.select_for_update()
            .filter(pk=send_id)
            .values_list("rate_next_at", flat=True)
        )
        start = max(now, reserved.first() or now)
        Send.objects.filter(pk=send_id).update(
            rate_next_at=start + timedelta(seconds=count / per_second)
        )
    return start


class BatchVerdict(enum.Enum):
    CONTINUE = "continue"
    STOP = "stop"  # the send was paused by the circuit breaker or the batch was lost


def batch_record_outcomes(
    *, batch: ClaimedBatch, results: Sequence[Result], config: DeliveryConfig, last_error: str
) -> BatchVerdict:
    """Write every outcome of a batch in one transaction and apply the circuit breaker."""
    now = timezone.now()
    with transaction.atomic():
        is_ours = bool(
            SendBatch.objects.filter(pk=batch.id, finished_at__isnull=True).update(
                finished_at=now, heartbeat_at=now
            )
        )
        _apply(batch, _groups(batch, results, config, requeue=is_ours), now)
        _suppress_hard_bounces(batch, results)
        tripped = _breaker(batch.send_id, results, config, last_error)
    return BatchVerdict.STOP if tripped or not is_ours else BatchVerdict.CONTINUE


Group = tuple[str, int | None, int | None, str]


def _groups(
    batch: ClaimedBatch, results: Sequence[Result], config: DeliveryConfig, *, requeue: bool
) -> dict[Group, list[int]]:
    """Records that get the same update, grouped so each group is one UPDATE."""
    groups: dict[Group, list[int]] = defaultdict(list)
    for result in results:
        # Sent, by far the most common, without the call (a tenth of the batch's client CPU).
        if result.outcome is Outcome.SENT:
            groups[(RecordStatus.SENT, None, result.code, "")].append(result.record_id)
        else:
            groups[_target(batch, result, config, requeue=requeue)].append(result.record_id)
    return groups


def _target(batch: ClaimedBatch, result: Result, config: DeliveryConfig, *, requeue: bool) -> Group:
    outcome = result.outcome
    if outcome is Outcome.SENT:
        return (RecordStatus.SENT, None, result.code, "")
    if outcome is Outcome.BOUNCED:
        return (RecordStatus.BOUNCED, None, result.code, result.message)
    if outcome is Outcome.FAILED:
        return (RecordStatus.FAILED, None, result.code, result.message)
    if outcome is Outcome.UNKNOWN or not requeue:
        return (RecordStatus.UNKNOWN, None, result.code, result.message or LOST_WORKER)
    attempts = batch.attempts.get(result.record_id, 0) + result.tries
    if outcome is Outcome.NOT_ATTEMPTED:
        return (RecordStatus.RETRY, None, None, "")
    if attempts >= config.max_attempts:
        return (
            RecordStatus.FAILED,
            attempts,
            result.code,
            f"gave up after {attempts} attempts: {result.message}",
        )
    return (RecordStatus.RETRY, attempts, result.code, result.message)


def _outcomes_sql() -> str:
    """One UPDATE for a whole batch: the outcomes arrive as one JSON parameter, a list per group
    of records getting the same update, [[status, attempts, code, error, [record id, ...]], ...],
    joined to the records by id. (Usually one group, every record sent: sending its ids only
    instead of a five-field list per record cut the batch's client CPU and server JSON parsing.)
    """
    table = connection.ops.quote_name(SendRecord._meta.db_table)
    if connection.vendor == "postgresql":
        outcomes = (
            "WITH v AS (SELECT i::bigint AS id, g->>0 AS status, (g->>1)::int AS attempts, "
            "(g->>2)::int AS code, g->>3 AS error "
            "FROM jsonb_array_elements(%s::jsonb) AS g, jsonb_array_elements_text(g->4) AS i) "
        )
        # `+ 0` and `|| ''` keep the planner off the (send, …) indexes, whose estimates are stale
        # right after a snapshot: it then walked every record of the send for each outcome
        # (12 s for 1,000 outcomes measured); by id it is a primary-key lookup each.
        send, batch, status = (
            f"{table}.send_id + 0",
            f"{table}.batch_id + 0",
            f"{table}.status || ''",
        )
    else:
        # MATERIALIZED: each group's fields are read once; inlined, json_extract parsed the
        # group's whole id list again for every record (105 ms a batch of 1,000).
        outcomes = (
            "WITH g AS MATERIALIZED (SELECT json_extract(value, '$[0]') AS status, "
            "json_extract(value, '$[1]') AS attempts, json_extract(value, '$[2]') AS code, "
            "json_extract(value, '$[3]') AS error, json_extract(value, '$[4]') AS ids "
            "FROM json_each(%s)), "
            "v AS (SELECT i.value AS id, g.status, g.attempts, g.code, g.error "
            "FROM g, json_each(g.ids) AS i) "
        )
        # Unary `+`: SQLite uses no index for these, so it looks each record up by id.
        send, batch, status = f"+{table}.send_id", f"+{table}.batch_id", f"+{table}.status"
    # The batch's records: those it claimed one by one (`claimed`, its id), and those of its
    # range still `queued`; `unknown` for either when recovery took the batch for lost meanwhile.
    return (
        f"{outcomes}UPDATE {table} SET status = v.status, smtp_code = v.code, error = v.error, "  # noqa: S608 (table from model meta)
        f"attempts = COALESCE(v.attempts, {table}.attempts), "
        "batch_id = CASE WHEN v.status = %s THEN NULL ELSE %s END, "
        f"sent_at = CASE WHEN v.status = %s THEN %s ELSE {table}.sent_at END "
        f"FROM v WHERE {table}.id = v.id AND {send} = %s AND ("
        f"({batch} = %s AND {status} IN (%s, %s)) OR ({batch} IS NULL "
        f"AND {table}.id BETWEEN %s AND %s AND {status} IN (%s, %s)))"
    )


def _apply(batch: ClaimedBatch, groups: dict[Group, list[int]], now: datetime) -> None:
    """Write every record's outcome in one statement."""
    payload = json.dumps([[*group, ids] for group, ids in groups.items()])
    first, last = batch.span or (1, 0)  # no range: BETWEEN 1 AND 0 holds no id
    params: list[Any] = [
        payload,
        RecordStatus.RETRY,
        batch.id,
        RecordStatus.SENT,
        connection.ops.adapt_datetimefield_value(now),
        batch.send_id,
        batch.id,
        RecordStatus.CLAIMED,
        RecordStatus.UNKNOWN,
        first,
        last,
        RecordStatus.QUEUED,
        RecordStatus.UNKNOWN,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_outcomes_sql(), params)


def _suppress_hard_bounces(batch: ClaimedBatch, results: Sequence[Result]) -> None:
    """A 5xx for a recipient suppresses it for every later send of the account (not 4xx)."""
    bounced = [r for r in results if r.outcome is Outcome.BOUNCED]
    if not bounced:
        return
    account_id = (
        Send.objects.filter(pk=batch.send_id, is_test=False)
        .values_list("account_id", flat=True)
        .first()
    )
    if account_id is None:
        return  # a test send's addresses are not subscribers of the account
    keys = {r.record_id: r.subscriber_key for r in batch.recipients}
    # An earlier suppression (an unsubscribe, say) is kept as it is.
    Suppression.objects.bulk_create(
        (
            Suppression(
                account_id=account_id,
                subscriber_key=keys[result.record_id],
                reason=SuppressionReason.HARD_BOUNCE,
                smtp_code=result.code,
                detail=result.message[:1000],
                record_id=result.record_id,
            )
            for result in bounced
        ),
        ignore_conflicts=True,
    )


def _breaker(
    send_id: int, results: Sequence[Result], config: DeliveryConfig, last_error: str
) -> bool:
    """Pause the send when too many batches in a row delivered nothing; True if it paused."""
    # `failing` is only looked for when nothing was delivered (it walked every result).
    delivered = any(r.outcome is Outcome.SENT for r in results)
    failing = not delivered and any(
        r.outcome in (Outcome.DEFERRED, Outcome.REFUSED, Outcome.BOUNCED, Outcome.UNKNOWN)
        for r in results
    )
    sends = Send.objects.filter(pk=send_id)
    if delivered or not failing:
        sends.exclude(consecutive_failed_batches=0).update(consecutive_failed_batches=0)
        return False
    sends.update(consecutive_failed_batches=F("consecutive_failed_batches") + 1)
    streak = sends.values_list("consecutive_failed_batches", flat=True).first() or 0
    if streak < config.breaker_batches:
        return False
    reason = f"Paused after {streak} batches in a row delivered nothing. Last error: {last_error}"
    paused = sends.filter(status=SendStatus.RUNNING).update(
        status=SendStatus.PAUSED, failure_reason=reason
    )
    if paused:
        send = Send.objects.get(pk=send_id)
        SendEvent.objects.create(
            account_id=send.account_id,
            send=send,
            actor_label="delivery pipeline",
            action="send.paused_by_circuit_breaker",
            section="sends",
            target=send.name,
            old_value={"status": SendStatus.RUNNING},
            new_value={"status": SendStatus.PAUSED, "reason": reason},
        )
    return True


def send_recover_stale(*, send_id: int, lease_seconds: int) -> int:
    """Mark what lost workers had claimed as `unknown`; return how many records that was."""
    cutoff = timezone.now() - timedelta(seconds=lease_seconds)
    stale = SendBatch.objects.filter(
        send_id=send_id, finished_at__isnull=True, heartbeat_at__lt=cutoff
    ).values_list("id", "first_record_id", "last_record_id")
    lost = 0
    for batch_id, first, last in list(stale):
        with transaction.atomic():
            taken = SendBatch.objects.filter(pk=batch_id, finished_at__isnull=True).update(
                finished_at=timezone.now(), is_lost=True
            )
            if not taken:
                continue
            records = SendRecord.objects.filter(send_id=send_id)
            lost += records.filter(status=RecordStatus.CLAIMED, batch_id=batch_id).update(
                status=RecordStatus.UNKNOWN, error=LOST_WORKER
            )
            if first is not None:
                lost += records.filter(
                    status=RecordStatus.QUEUED, id__gte=first, id__lte=last
                ).update(status=RecordStatus.UNKNOWN, error=LOST_WORKER, batch_id=batch_id)
    return lost


class FinishState(enum.Enum):
    COMPLETED = "completed"
    REMAINING = "remaining"  # queued records remain
    WAITING = "waiting"  # other loops (or lost ones) still hold batches
    NOT_RUNNING = "not_running"


def send_finish_if_done(*, send_id: int) -> FinishState:
    """Complete a running send once no record is queued or claimed."""
    with transaction.atomic():
        send = Send.objects.select_for_update().filter(pk=send_id).first()
        if send is None or send.status != SendStatus.RUNNING:
            return FinishState.NOT_RUNNING
        records = SendRecord.objects.filter(send_id=send_id)
        fresh = records.filter(status=RecordStatus.QUEUED, id__gt=send.claim_cursor)
        if records.filter(status=RecordStatus.RETRY).exists() or fresh.exists():
            return FinishState.REMAINING
        # Records of an open batch: claimed one by one, or queued within its range.
        if SendBatch.objects.filter(send_id=send_id, finished_at__isnull=True).exists():
            return FinishState.WAITING
        if records.filter(status=RecordStatus.CLAIMED).exists():
            return FinishState.WAITING
        send.status = SendStatus.COMPLETED
        send.finished_at = timezone.now()
        send.save(update_fields=["status", "finished_at"])
        SendEvent.objects.create(
            account_id=send.account_id,
            send=send,
            actor_label="delivery pipeline",
            action="send.completed",
            section="sends",
            target=send.name,
            old_value={"status": SendStatus.RUNNING},
            new_value={"status": SendStatus.COMPLETED},
        )
    return FinishState.COMPLETED
