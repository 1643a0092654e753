"""Pooled, concurrent SMTP delivery (aiosmtplib), classifying every outcome.

Outcomes are chosen so that nothing is ever sent twice: a message is offered again only
when the server answered that it did not take it (4xx) or when DATA was never sent.
Anything that breaks after DATA was sent is UNKNOWN and never retried.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiosmtplib

from tandem.engagement.sends.conf import DeliveryConfig

MAX_BACKOFF = 30.0


class Outcome(enum.Enum):
    SENT = "sent"
    BOUNCED = "bounced"  # 5xx for this recipient: final
    DEFERRED = "deferred"  # 4xx or no connection, before the server took the message
    REFUSED = "refused"  # 5xx for the sender: the relay refuses us, not this recipient
    UNKNOWN = "unknown"  # DATA was sent but no reply came: never resent
    FAILED = "failed"  # the message could not be built: never reached the server
    NOT_ATTEMPTED = "not_attempted"


@dataclass(frozen=True)
class Result:
    """What happened to one message."""

    record_id: int
    outcome: Outcome
    code: int | None = None
    message: str = ""
    tries: int = 0


class _Transient(Exception):
    def __init__(self, code: int | None, message: str, *, drop_connection: bool) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.drop_connection = drop_connection


class _Final(Exception):
    def __init__(self, outcome: Outcome, code: int | None, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome
        self.code = code
        self.message = message


@dataclass
class Job:
    """One message to deliver; `build` renders it only when a connection is ready for it."""

    record_id: int
    recipient: str
    build: Callable[[], bytes]
    # time.monotonic() before which the job must not start (a send's rate limit); 0: at once.
    not_before: float = 0.0


class _Connection:
    """One SMTP session, recycled after a number of messages."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self.client: aiosmtplib.SMTP | None = None
        self.used = 0

    async def ready(self) -> aiosmtplib.SMTP:
        if self.client is not None and (
            not self.client.is_connected or self.used >= self.config.messages_per_connection
        ):
            await self.close()
        if self.client is None:
            client = aiosmtplib.SMTP(
                hostname=self.config.smtp_host,
                port=self.config.smtp_port,
                timeout=self.config.timeout,
                start_tls=False,
                local_hostname="tandem.localhost",
            )
            try:
                await client.connect()
                await client.ehlo()
            except (aiosmtplib.SMTPException, OSError) as exc:
                raise _Transient(
                    getattr(exc, "code", None),
                    _describe_connect(self.config, exc),
                    drop_connection=True,
                ) from exc
            self.client, self.used = client, 0
        return self.client

    async def close(self) -> None:
        client, self.client = self.client, None
        if client is None:
            return
        try:
            if client.is_connected:
                await client.quit(timeout=min(self.config.timeout, 2.0))
        except (aiosmtplib.SMTPException, OSError):
            client.close()


class SmtpPool:
    """A fixed number of connections that deliver a batch of jobs concurrently."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self.connections = [_Connection(config) for _ in range(config.connections)]
        self.failure_streak = 0
        self.abort_after = max(config.retry_attempts, config.connections) * 2
        self.last_error = ""

    async def deliver(self, sender: str, jobs: Sequence[Job], deadline: float) -> list[Result]:
        """Deliver `jobs`; stop taking new ones at `deadline` or when the server keeps failing."""
        queue: asyncio.Queue[Job] = asyncio.Queue()
        for job in jobs:
            queue.put_nowait(job)
        results: dict[int, Result] = {}
        await asyncio.gather(
            *(self._drain(conn, sender, queue, results, deadline) for conn in self.connections)
        )
        return [
            results.get(job.record_id) or Result(job.record_id, Outcome.NOT_ATTEMPTED)
            for job in jobs
        ]

    @property
    def is_failing(self) -> bool:
        """True when so many attempts in a row failed that the batch should stop."""
        return self.failure_streak >= self.abort_after

    async def close(self) -> None:
        await asyncio.gather(*(conn.close() for conn in self.connections))

    async def _drain(
        self,
        conn: _Connection,
        sender: str,
        queue: asyncio.Queue[Job],
        results: dict[int, Result],
        deadline: float,
    ) -> None:
        while not queue.empty() and not self.is_failing and time.monotonic() < deadline:
            job = queue.get_nowait()
            if job.not_before and (delay := job.not_before - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            results[job.record_id] = await self._deliver_one(conn, sender, job)

    async def _deliver_one(self, conn: _Connection, sender: str, job: Job) -> Result:
        data: bytes | None = None
        last = _Transient(None, "", drop_connection=False)
        for attempt in range(1, self.config.retry_attempts + 1):
            if attempt > 1:
                await asyncio.sleep(
                    min(MAX_BACKOFF, self.config.retry_backoff * 2 ** (attempt - 2))
                )
                if self.is_failing:
                    break
            if data is None:
                try:
                    data = job.build()
                except (UnicodeError, ValueError) as exc:
                    return Result(job.record_id, Outcome.FAILED, None, f"cannot build: {exc}", 0)
            try:
                code, text = await self._transaction(conn, sender, job.recipient, data)
            except _Transient as exc:
                last = exc
                self._failed(exc.message)
                await (conn.close() if exc.drop_connection else _reset(conn))
                continue
            except _Final as exc:
                if exc.outcome is Outcome.REFUSED:
                    self._failed(exc.message)
                await (conn.close() if exc.outcome is Outcome.UNKNOWN else _reset(conn))
                return Result(job.record_id, exc.outcome, exc.code, exc.message, attempt)
            self.failure_streak = 0
            return Result(job.record_id, Outcome.SENT, code, text, attempt)
        return Result(job.record_id, Outcome.DEFERRED, last.code, last.message, attempt)

    def _failed(self, message: str) -> None:
        self.failure_streak += 1
        self.last_error = message

    async def _transaction(
        self, conn: _Connection, sender: str, recipient: str, data: bytes
    ) -> tuple[int, str]:
        client = await conn.ready()
        # MAIL and RCPT are sent as raw commands: addresses were checked when the audience was
        # snapshotted, and aiosmtplib's per-call address parsing costs ~50 µs a message.
        await _command(client, b"MAIL", b"FROM:<" + sender.encode() + b">", sender_side=True)
        await _command(client, b"RCPT", b"TO:<" + recipient.encode() + b">", sender_side=False)
        conn.used += 1
        try:
            response = await client.data(data)
        except aiosmtplib.SMTPResponseException as exc:
            raise _response_error(exc.code, exc.message, "DATA", sender_side=False) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            # The message may have been taken: never offer it again.
            raise _Final(
                Outcome.UNKNOWN,
                None,
                f"no reply after DATA ({type(exc).__name__}: {exc}); outcome unknown, not resent",
            ) from exc
        return response.code, response.message


async def _command(
    client: aiosmtplib.SMTP, verb: bytes, argument: bytes, *, sender_side: bool
) -> None:
    """Send MAIL or RCPT; raise _Transient or _Final unless the server answers 250/251."""
    step = verb.decode()
    try:
        response = await client.execute_command(verb, argument)
    except (aiosmtplib.SMTPException, OSError) as exc:
        raise _Transient(None, f"connection lost at {step}: {exc}", drop_connection=True) from exc
    if response.code not in (250, 251):
        raise _response_error(response.code, response.message, step, sender_side=sender_side)


def _response_error(code: int, message: str, step: str, *, sender_side: bool) -> Exception:
    text = f"{code} {message} (after {step})"
    if 400 <= code < 500:
        return _Transient(code, text, drop_connection=code == 421)
    if sender_side:
        return _Final(Outcome.REFUSED, code, text)
    return _Final(Outcome.BOUNCED, code, text)


async def _reset(conn: _Connection) -> None:
    """End a refused transaction so the session can carry the next one."""
    if conn.client is None or not conn.client.is_connected:
        return
    try:
        await conn.client.rset()
    except (aiosmtplib.SMTPException, OSError):
        await conn.close()


def _describe_connect(config: DeliveryConfig, exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return f"cannot connect to SMTP server {config.smtp_host}:{config.smtp_port}: {cause}"
