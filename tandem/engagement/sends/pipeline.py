"""One delivery loop: claim a batch, build and send its messages over the pool, record outcomes."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tandem.engagement.sends.claims import (
    BatchVerdict,
    ClaimedBatch,
    FinishState,
    batch_claim,
    batch_heartbeat,
    batch_record_outcomes,
    send_finish_if_done,
    send_reserve_slots,
)
from tandem.engagement.sends.conf import DeliveryConfig, delivery_config
from tandem.engagement.sends.message import (
    PreparedEmail,
    Recipient,
    build_wire,
    date_header,
    prepare_email,
)
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.sends.smtp import Job, Result, SmtpPool


@dataclass(frozen=True)
class LoopReport:
    """What one loop did, and whether the send is finished."""

    batches: int
    messages: int
    finish: FinishState


def worker_name() -> str:
    """This loop's name in batch rows: host, process and a unique suffix."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def send_deliver(*, send_id: int, config: DeliveryConfig | None = None) -> LoopReport:
    """Deliver batches of a running send until none is left, it stops running, or it trips."""
    config = config or delivery_config()
    send = Send.objects.select_related("email").filter(pk=send_id).first()
    if send is None or send.status != SendStatus.RUNNING:
        return LoopReport(0, 0, FinishState.NOT_RUNNING)
    prepared = prepare_email(send_id=send.id, email=send.email, is_test=send.is_test)
    # Everything loaded so far (Django, the app, the prepared email) lives as long as the
    # process: keep it out of the collector's full passes, which a batch's objects trigger.
    gc.freeze()
    worker = worker_name()
    loop = asyncio.new_event_loop()
    pool = SmtpPool(config)
    batches = messages = 0
    rate = send.max_per_second
    size = rate_batch_size(config, rate) if rate else config.batch_size
    try:
        while True:
            if rate:
                _wait_for_slots(send_id, size, rate)
            batch = batch_claim(send_id=send_id, worker=worker, size=size)
            if batch is None:
                break
            batches += 1
            messages += len(batch.recipients)
            interval = 1 / rate if rate else 0.0
            verdict = _deliver_batch(loop, pool, prepared, batch, config, interval)
            if verdict is BatchVerdict.STOP:
                break
    finally:
        loop.run_until_complete(pool.close())
        loop.close()
    # No close_old_connections() here: Celery's Django fixup closes stale connections around
    # every task, and inside a caller's transaction (tests on PostgreSQL) it would close it.
    finish = send_finish_if_done(send_id=send_id)
    return LoopReport(batches, messages, finish)


def rate_batch_size(config: DeliveryConfig, per_second: int) -> int:
    """A rate-limited loop's batch: what the limit lets out in half a batch's deadline."""
    return max(1, min(config.batch_size, int(per_second * config.batch_deadline / 2)))


def _wait_for_slots(send_id: int, size: int, per_second: int) -> None:
    """Reserve the next `size` messages of the send's budget and sleep until they start."""
    start = send_reserve_slots(send_id=send_id, count=size, per_second=per_second)
    # The claim comes after the wait, so waiting never eats into the batch's lease.
    delay = (start - timezone.now()).total_seconds()
    if delay > 0:
        time.sleep(delay)


def _deliver_batch(
    loop: asyncio.AbstractEventLoop,
    pool: SmtpPool,
    prepared: PreparedEmail,
    batch: ClaimedBatch,
    config: DeliveryConfig,
    interval: float,
) -> BatchVerdict:
    date = date_header()
    jobs = [_job(prepared, recipient, date) for recipient in batch.recipients]
    if interval:
        base = time.monotonic()
        for position, job in enumerate(jobs):
            job.not_before = base + position * interval
    deadline = time.monotonic() + config.batch_deadline
    pool.failure_streak = 0
    results = _run_with_heartbeat(
        loop, pool.deliver(prepared.sender, jobs, deadline), batch, config
    )
    return batch_record_outcomes(
        batch=batch, results=results, config=config, last_error=pool.last_error
    )


def _run_with_heartbeat(
    loop: asyncio.AbstractEventLoop,
    delivery: Coroutine[Any, Any, list[Result]],
    batch: ClaimedBatch,
    config: DeliveryConfig,
) -> list[Result]:
    """Run the batch's delivery, renewing its heartbeat every `heartbeat_seconds` until done.

    The loop runs in slices; the heartbeat is written between two slices, when no coroutine
    runs, so the ORM is used from plain synchronous code. Retries that outlast the lease
    therefore never make recovery take a live batch for a lost one.
    """
    task = loop.create_task(delivery)
    while not task.done():
        loop.run_until_complete(asyncio.wait({task}, timeout=config.heartbeat_seconds))
        if not task.done():
            batch_heartbeat(batch_id=batch.id)
    return task.result()


def _job(prepared: PreparedEmail, recipient: Recipient, date: bytes) -> Job:
    return Job(
        recipient.record_id,
        recipient.email,
        lambda: build_wire(prepared, recipient, date),
    )
