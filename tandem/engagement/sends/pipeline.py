"""One delivery loop: claim a batch, build and send its messages over the pool, record outcomes."""

from __future__ import annotations

import asyncio
import os
import socket
import time
import uuid
from dataclasses import dataclass

from tandem.engagement.sends.claims import (
    BatchVerdict,
    ClaimedBatch,
    FinishState,
    batch_claim,
    batch_record_outcomes,
    send_finish_if_done,
)
from tandem.engagement.sends.conf import DeliveryConfig, delivery_config
from tandem.engagement.sends.message import (
    PreparedEmail,
    Recipient,
    build_message,
    date_header,
    prepare_email,
)
from tandem.engagement.sends.models import Send, SendStatus
from tandem.engagement.sends.smtp import Job, SmtpPool


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
    worker = worker_name()
    loop = asyncio.new_event_loop()
    pool = SmtpPool(config)
    batches = messages = 0
    try:
        while batch := batch_claim(send_id=send_id, worker=worker, size=config.batch_size):
            batches += 1
            messages += len(batch.recipients)
            if _deliver_batch(loop, pool, prepared, batch, config) is BatchVerdict.STOP:
                break
    finally:
        loop.run_until_complete(pool.close())
        loop.close()
    # No close_old_connections() here: Celery's Django fixup closes stale connections around
    # every task, and inside a caller's transaction (tests on PostgreSQL) it would close it.
    finish = send_finish_if_done(send_id=send_id)
    return LoopReport(batches, messages, finish)


def _deliver_batch(
    loop: asyncio.AbstractEventLoop,
    pool: SmtpPool,
    prepared: PreparedEmail,
    batch: ClaimedBatch,
    config: DeliveryConfig,
) -> BatchVerdict:
    date = date_header()
    jobs = [_job(prepared, recipient, date) for recipient in batch.recipients]
    deadline = time.monotonic() + config.batch_deadline
    pool.failure_streak = 0
    results = loop.run_until_complete(pool.deliver(prepared.sender, jobs, deadline))
    return batch_record_outcomes(
        batch=batch, results=results, config=config, last_error=pool.last_error
    )


def _job(prepared: PreparedEmail, recipient: Recipient, date: bytes) -> Job:
    return Job(
        recipient.record_id,
        recipient.email,
        lambda: build_message(prepared, recipient, date),
    )
