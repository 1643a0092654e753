"""Claims: fresh records taken by range (written once, at their outcome), records queued again
claimed one by one, and every outcome confined to its own batch."""

from __future__ import annotations

from typing import Any

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.sends.claims import (
    BatchVerdict,
    ClaimedBatch,
    FinishState,
    batch_claim,
    batch_record_outcomes,
    send_finish_if_done,
    send_recover_stale,
)
from tandem.engagement.sends.models import RecordStatus, Send, SendBatch
from tandem.engagement.sends.selectors import send_progress
from tandem.engagement.sends.smtp import Outcome, Result
from tandem.engagement.studio.models import Email
from tests.engagement.sends.conftest import config_for
from tests.engagement.sends.helpers import running_send

CONFIG = config_for(2525)


def claim(send: Send, size: int = 10) -> ClaimedBatch:
    batch = batch_claim(send_id=send.id, worker="w", size=size)
    assert batch is not None
    return batch


def ids(batch: ClaimedBatch) -> list[int]:
    return [r.record_id for r in batch.recipients]


def record(batch: ClaimedBatch, results: list[Result]) -> BatchVerdict:
    return batch_record_outcomes(batch=batch, results=results, config=CONFIG, last_error="")


def sent(record_ids: list[int]) -> list[Result]:
    return [Result(i, Outcome.SENT, 250, "ok", 1) for i in record_ids]


def test_a_fresh_claim_takes_a_range_and_leaves_its_records_unwritten(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    all_ids = list(send.records.order_by("id").values_list("id", flat=True))

    first = claim(send)
    second = claim(send)

    assert ids(first) == all_ids[:10]
    assert ids(second) == all_ids[10:20]
    assert first.span == (all_ids[0], all_ids[9])
    assert second.span == (all_ids[10], all_ids[19])
    stored = SendBatch.objects.get(pk=first.id)
    assert (stored.first_record_id, stored.last_record_id, stored.size) == (*first.span, 10)
    send.refresh_from_db()
    assert send.claim_cursor == all_ids[19]
    # The claim wrote the batch and the cursor, not the records.
    assert set(send.records.values_list("status", "batch_id")) == {(RecordStatus.QUEUED, None)}
    progress = send_progress(send=send)
    assert (progress.queued, progress.claimed) == (5, 20)


def test_records_queued_again_are_claimed_one_by_one_before_fresh_ones(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    first = claim(send)
    deferred = ids(first)[:3]
    results = [Result(i, Outcome.DEFERRED, 451, "try later", 1) for i in deferred]
    record(first, results + sent(ids(first)[3:]))
    assert set(send.records.filter(id__in=deferred).values_list("status", "attempts")) == {
        (RecordStatus.RETRY, 1)
    }
    assert send_progress(send=send).queued == 18

    retries = claim(send)
    fresh = claim(send)

    assert ids(retries) == deferred
    assert retries.span is None
    assert retries.attempts == dict.fromkeys(deferred, 1)
    assert set(send.records.filter(id__in=deferred).values_list("status", "batch_id")) == {
        (RecordStatus.CLAIMED, retries.id)
    }
    assert fresh.span is not None
    assert fresh.span[0] > ids(first)[-1]
    assert not set(ids(fresh)) & set(ids(first))


def test_an_outcome_writes_only_the_records_of_its_own_batch(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    mine, theirs = claim(send), claim(send)
    outside = list(send.records.order_by("-id").values_list("id", flat=True)[:5])

    record(mine, sent(ids(mine) + ids(theirs) + outside))

    assert set(send.records.filter(id__in=ids(mine)).values_list("status", "batch_id")) == {
        (RecordStatus.SENT, mine.id)
    }
    untouched = send.records.filter(id__in=ids(theirs) + outside)
    assert set(untouched.values_list("status", "batch_id", "sent_at")) == {
        (RecordStatus.QUEUED, None, None)
    }


def test_a_lost_range_becomes_unknown_and_its_late_outcome_still_lands(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    lost, alive = claim(send), claim(send)
    SendBatch.objects.filter(pk=lost.id).update(heartbeat_at="2000-01-01T00:00:00Z")

    made_unknown = send_recover_stale(send_id=send.id, lease_seconds=60)

    assert made_unknown == 10
    assert set(send.records.filter(id__in=ids(lost)).values_list("status", "batch_id")) == {
        (RecordStatus.UNKNOWN, lost.id)
    }
    assert set(send.records.filter(id__in=ids(alive)).values_list("status")) == {
        (RecordStatus.QUEUED,)
    }
    # The worker was only slow: what it did is recorded, and it stops.
    assert record(lost, sent(ids(lost))) is BatchVerdict.STOP
    assert set(send.records.filter(id__in=ids(lost)).values_list("status")) == {
        (RecordStatus.SENT,)
    }


def test_a_send_waits_for_an_open_range_then_completes(
    marketer: User, email: Email, audience: DataExtension, django_capture_on_commit_callbacks: Any
) -> None:
    send = running_send(marketer, email, audience, django_capture_on_commit_callbacks)
    everyone = claim(send, size=100)

    assert batch_claim(send_id=send.id, worker="w", size=10) is None
    assert send_finish_if_done(send_id=send.id) is FinishState.WAITING
    record(everyone, sent(ids(everyone)))
    assert send_finish_if_done(send_id=send.id) is FinishState.COMPLETED
    assert set(send.records.values_list("status")) == {(RecordStatus.SENT,)}
