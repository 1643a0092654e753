"""One delivery loop: claim a batch, build and send its messages over the pool, record outcomes."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import threading
import time
import uuid
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass

from django.utils import timezone

from tandem.engagement.sends.claims import (
    BatchVerdict,
    ClaimedBatch,
    FinishState,
    batch_claim,
    batch_heartbeat,
    batch_record_outcomes,
    batch_release,
    breaker_may_trip,
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
    """Deliver batches of a running send until none is left, it stops running, or it trips.

    SMTP runs on an event loop in a thread of its own (_Courier); this thread does all the
    database work. So the next batch is claimed while this one is delivered, and this one's
    outcomes are recorded while the next one is: the connections do not wait for the database
    (bench/sends). Each claim is committed before any of its messages is offered, as before.
    """
    config = config or delivery_config()
    send = Send.objects.select_related("email").filter(pk=send_id).first()
    if send is None or send.status != SendStatus.RUNNING:
        return LoopReport(0, 0, FinishState.NOT_RUNNING)
    prepared = prepare_email(send_id=send.id, email=send.email, is_test=send.is_test)
    # Everything loaded so far (Django, the app, the prepared email) lives as long as the
    # process: keep it out of the collector's full passes, which a batch's objects trigger.
    gc.freeze()
    courier = _Courier(config, prepared)
    try:
        if send.max_per_second:
            batches, messages = _deliver_at_rate(courier, send_id, config, send.max_per_second)
        else:
            batches, messages = _deliver_overlapped(courier, send_id, config)
    finally:
        courier.close()
    # No close_old_connections() here: Celery's Django fixup closes stale connections around
    # every task, and inside a caller's transaction (tests on PostgreSQL) it would close it.
    finish = send_finish_if_done(send_id=send_id)
    return LoopReport(batches, messages, finish)


def _deliver_overlapped(courier: _Courier, send_id: int, config: DeliveryConfig) -> tuple[int, int]:
    """Claim the next batch while one is delivered; record it while the next one is."""
    worker = worker_name()
    batch = batch_claim(send_id=send_id, worker=worker, size=config.batch_size)
    if batch is None:
        return 0, 0
    delivery = courier.start(batch, interval=0.0)
    batches, messages = 1, len(batch.recipients)
    while True:
        upcoming = batch_claim(send_id=send_id, worker=worker, size=config.batch_size)
        held = [batch] if upcoming is None else [batch, upcoming]
        results, last_error = _wait(delivery, held, config)
        following = None
        if upcoming is not None and not breaker_may_trip(results):
            following = courier.start(upcoming, interval=0.0)
        verdict = batch_record_outcomes(
            batch=batch, results=results, config=config, last_error=last_error
        )
        if upcoming is None:
            return batches, messages
        if following is None:
            # This batch delivered nothing: its outcome decides whether the breaker pauses
            # the send, and the next batch starts only if it did not (no recipient is spent
            # on a server refusing everyone; the unused claim goes back to the queue).
            if verdict is BatchVerdict.STOP:
                batch_release(batch=upcoming)
                return batches, messages
            following = courier.start(upcoming, interval=0.0)
        batches, messages = batches + 1, messages + len(upcoming.recipients)
        if verdict is BatchVerdict.STOP:
            # This batch was taken for lost meanwhile: the next one stops offering messages,
            # and what it did not offer goes back to the queue.
            courier.stop_taking()
            results, last_error = _wait(following, [upcoming], config)
            batch_record_outcomes(
                batch=upcoming, results=results, config=config, last_error=last_error
            )
            return batches, messages
        batch, delivery = upcoming, following


def _deliver_at_rate(
    courier: _Courier, send_id: int, config: DeliveryConfig, rate: int
) -> tuple[int, int]:
    """A rate-limited send: one batch at a time, each after its slots in the budget."""
    worker = worker_name()
    size = rate_batch_size(config, rate)
    batches = messages = 0
    while True:
        _wait_for_slots(send_id, size, rate)
        batch = batch_claim(send_id=send_id, worker=worker, size=size)
        if batch is None:
            return batches, messages
        batches, messages = batches + 1, messages + len(batch.recipients)
        results, last_error = _wait(courier.start(batch, interval=1 / rate), [batch], config)
        verdict = batch_record_outcomes(
            batch=batch, results=results, config=config, last_error=last_error
        )
        if verdict is BatchVerdict.STOP:
            return batches, messages


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


Delivered = tuple[list[Result], str]  # every message's result, the pool's last error


def _wait(
    delivery: Future[Delivered], held: list[ClaimedBatch], config: DeliveryConfig
) -> Delivered:
    """Wait for a batch's delivery, renewing the heartbeat of every batch this loop holds
    every `heartbeat_seconds`, so retries that outlast the lease never make recovery take a
    live batch (or the claimed next one) for a lost one."""
    while True:
        try:
            return delivery.result(timeout=config.heartbeat_seconds)
        except FutureTimeout:
            for batch in held:
                batch_heartbeat(batch_id=batch.id)


class _Courier:
    """The SMTP pool on an event loop in its own thread; it never touches the database."""

    def __init__(self, config: DeliveryConfig, prepared: PreparedEmail) -> None:
        self.config = config
        self.prepared = prepared
        self.pool = SmtpPool(config)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="smtp", daemon=True)
        self.thread.start()

    def start(self, batch: ClaimedBatch, *, interval: float) -> Future[Delivered]:
        """Begin delivering `batch` (after the previous delivery ended); `interval` spaces
        the messages of a rate-limited send."""
        prepared, date = self.prepared, date_header()
        jobs = [_job(prepared, recipient, date) for recipient in batch.recipients]
        if interval:
            base = time.monotonic()
            for position, job in enumerate(jobs):
                job.not_before = base + position * interval
        deadline = time.monotonic() + self.config.batch_deadline
        # Cleared here, before the delivery is scheduled: a stop_taking() that follows is
        # never undone by it (the previous delivery has ended; a plain flag is enough).
        self.pool.stopped = False
        return asyncio.run_coroutine_threadsafe(self._deliver(jobs, deadline), self.loop)

    async def _deliver(self, jobs: list[Job], deadline: float) -> Delivered:
        pool = self.pool
        pool.failure_streak = 0
        results = await pool.deliver(self.prepared.sender, jobs, deadline)
        return results, pool.last_error

    def stop_taking(self) -> None:
        """The running delivery offers no further message (those in flight finish)."""
        self.pool.stopped = True

    def close(self) -> None:
        """Stop offering messages, close the connections, end the thread."""
        if self.thread.is_alive():
            self.stop_taking()
            asyncio.run_coroutine_threadsafe(self._close(), self.loop).result()
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
        self.loop.close()

    async def _close(self) -> None:
        # A delivery still running (this thread stopped on an error) ends first.
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            await asyncio.wait({task}, timeout=self.config.timeout)
        await self.pool.close()


def _job(prepared: PreparedEmail, recipient: Recipient, date: bytes) -> Job:
    return Job(
        recipient.record_id,
        recipient.email,
        lambda: build_wire(prepared, recipient, date),
    )
