"""Pooled, concurrent SMTP delivery, classifying every outcome.

Outcomes are chosen so that nothing is ever sent twice: a message is offered again only
when the server answered that it did not take it (4xx) or when its content was never sent.
Anything that breaks after the content was sent is UNKNOWN and never retried.

Each connection is one task draining the batch's queue. When the server offers PIPELINING
(RFC 2920), MAIL FROM, RCPT TO and DATA go in one write, and the next message's three go in
the same write as this message's content: one write and one read a message (ADR 0302). While
all goes well, the protocol's callback carries that exchange on without waking the task
(`SmtpPool._step`, ADR 0305). Without PIPELINING each command waits for its reply, as RFC 5321
asks.
"""

from __future__ import annotations

import asyncio
import enum
import functools
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from tandem.engagement.sends.conf import DeliveryConfig
from tandem.engagement.sends.smtp_session import (
    Reply,
    SessionError,
    SessionRefused,
    SmtpSession,
    open_session,
)

MAX_BACKOFF = 30.0


class Outcome(enum.Enum):
    SENT = "sent"
    BOUNCED = "bounced"  # 5xx for this recipient: final
    DEFERRED = "deferred"  # 4xx or no connection, before the server took the message
    REFUSED = "refused"  # 5xx for the sender: the relay refuses us, not this recipient
    UNKNOWN = "unknown"  # DATA was sent but no reply came: never resent
    FAILED = "failed"  # the message could not be built: never reached the server
    NOT_ATTEMPTED = "not_attempted"


class Result(NamedTuple):
    """What happened to one message (a tuple: one is made for every message)."""

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
    """One message to deliver; `build` renders it (in DATA form, final dot included) only when
    a connection is ready for it."""

    record_id: int
    recipient: str
    build: Callable[[], bytes]
    # time.monotonic() before which the job must not start (a send's rate limit, or the backoff
    # before a retry); 0: at once.
    not_before: float = 0.0
    tries: int = 0
    data: bytes | None = None
    last: _Transient | None = None


@dataclass
class _Ahead:
    """A job whose MAIL, RCPT and DATA went out with the previous message's content."""

    job: Job
    replies: list[Reply]


class _Connection:
    """One SMTP session, recycled after a number of messages."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self.session: SmtpSession | None = None
        self.used = 0
        self.ahead: _Ahead | None = None
        # While a content's reply is awaited: whose content it is, and the job whose envelope
        # went with it. The steady exchange (SmtpPool._step) moves both on.
        self.job: Job | None = None
        self.next: Job | None = None
        self.step: Callable[[list[Reply]], bool] | None = None

    async def ready(self) -> SmtpSession:
        session = self.session
        if session is not None and (
            not session.is_open or self.used >= self.config.messages_per_connection
        ):
            await self.close()
        if self.session is None:
            try:
                self.session = await open_session(
                    self.config.smtp_host,
                    self.config.smtp_port,
                    timeout=self.config.timeout,
                    local_hostname="tandem.localhost",
                )
            except SessionRefused as exc:
                raise _Transient(
                    exc.reply.code, _describe_connect(self.config, exc), drop_connection=True
                ) from exc
            except (SessionError, OSError) as exc:
                raise _Transient(
                    None, _describe_connect(self.config, exc), drop_connection=True
                ) from exc
            self.used = 0
        return self.session

    def may_look_ahead(self) -> bool:
        session = self.session
        return (
            session is not None
            and session.pipelining
            and self.used < self.config.messages_per_connection
        )

    async def close(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            await session.quit(min(self.config.timeout, 2.0))

    async def reset(self) -> None:
        """End a refused transaction so the session can carry the next one."""
        if self.session is None or not self.session.is_open:
            return
        try:
            await self.session.command(b"RSET")
        except SessionError:
            await self.close()


class SmtpPool:
    """A fixed number of connections that deliver a batch of jobs concurrently."""

    def __init__(self, config: DeliveryConfig) -> None:
        self.config = config
        self.connections = [_Connection(config) for _ in range(config.connections)]
        for conn in self.connections:
            conn.step = functools.partial(self._step, conn)
        self.failure_streak = 0
        self.abort_after = max(config.retry_attempts, config.connections) * 2
        self.last_error = ""
        self._queue: deque[Job] = deque()
        self._deadline = 0.0
        self._mail = b""
        self._results: dict[int, Result] = {}

    async def deliver(self, sender: str, jobs: Sequence[Job], deadline: float) -> list[Result]:
        """Deliver `jobs`; stop taking new ones at `deadline` or when the server keeps failing."""
        self._queue = deque(jobs)
        self._deadline = deadline
        self._mail = b"MAIL FROM:<" + sender.encode() + b">\r\n"
        results: dict[int, Result] = {}
        self._results = results
        await asyncio.gather(*(self._drain(conn) for conn in self.connections))
        return [results.get(job.record_id) or _unfinished(job) for job in jobs]

    @property
    def is_failing(self) -> bool:
        """True when so many attempts in a row failed that the batch should stop."""
        return self.failure_streak >= self.abort_after

    async def close(self) -> None:
        await asyncio.gather(*(conn.close() for conn in self.connections))

    def _take(self, *, due_only: bool = False) -> Job | None:
        """The next job, or None at the deadline, when failing, or (`due_only`) not yet due."""
        queue = self._queue
        if not queue or self.is_failing or time.monotonic() >= self._deadline:
            return None
        if due_only and queue[0].not_before > time.monotonic():
            return None
        return queue.popleft()

    async def _drain(self, conn: _Connection) -> None:
        """This connection's task: deliver jobs from the queue until there are none to take."""
        while True:
            ahead, conn.ahead = conn.ahead, None
            if ahead is not None:
                await self._attempt(conn, ahead.job, ahead.replies)
                continue
            job = self._take()
            if job is None:
                return
            if job.not_before and (delay := job.not_before - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            await self._attempt(conn, job, None)

    async def _attempt(self, conn: _Connection, job: Job, replies: list[Reply] | None) -> None:
        """One try of one job; a 4xx puts it back in the queue behind its backoff."""
        job.tries += 1
        conn.job = job
        try:
            if job.data is None:
                job.data = _build(job)
            if replies is None:
                session = await conn.ready()
                conn.used += 1
                replies = await self._envelope(session, job)
            if not _envelope_accepted(replies):
                await self._check_envelope(conn, replies)
            reply = await self._content(conn, job.data)
        except _Transient as exc:
            job = conn.job or job  # the steady exchange may have moved on to a later job
            self._failed(exc.message)
            job.last = exc
            if exc.drop_connection and conn.ahead is None:
                await conn.close()
            if job.tries < self.config.retry_attempts and not self.is_failing:
                delay = min(MAX_BACKOFF, self.config.retry_backoff * 2 ** (job.tries - 1))
                job.not_before = time.monotonic() + delay
                self._queue.appendleft(job)
            else:
                self._results[job.record_id] = _unfinished(job)
            return
        except _Final as exc:
            job = conn.job or job
            if exc.outcome is Outcome.REFUSED:
                self._failed(exc.message)
            self._results[job.record_id] = Result(
                job.record_id, exc.outcome, exc.code, exc.message, job.tries
            )
            return
        job = conn.job or job
        self.failure_streak = 0
        self._results[job.record_id] = Result(
            job.record_id, Outcome.SENT, reply.code, reply.text, job.tries
        )

    def _envelope_bytes(self, job: Job) -> bytes:
        return self._mail + b"RCPT TO:<" + job.recipient.encode() + b">\r\nDATA\r\n"

    async def _envelope(self, session: SmtpSession, job: Job) -> list[Reply]:
        """MAIL, RCPT and DATA: in one write when pipelining, else each after the last reply."""
        step = "MAIL"
        try:
            if session.pipelining:
                session.write(self._envelope_bytes(job))
                return await session.read(3)
            replies = [await session.command(self._mail[:-2])]
            if replies[0].code in (250, 251):
                step = "RCPT"
                replies.append(await session.command(b"RCPT TO:<" + job.recipient.encode() + b">"))
                if replies[1].code in (250, 251):
                    step = "DATA"
                    replies.append(await session.command(b"DATA"))
            return replies
        except SessionError as exc:
            raise _Transient(
                None, f"connection lost at {step}: {exc}", drop_connection=True
            ) from exc

    async def _check_envelope(self, conn: _Connection, replies: list[Reply]) -> None:
        """Raise the first refusal among MAIL, RCPT and DATA, after ending the transaction."""
        error: _Transient | _Final | None = None
        for reply, step, ok in zip(replies, ("MAIL", "RCPT", "DATA"), _ENVELOPE_OK, strict=False):
            if reply.code not in ok:
                error = _response_error(reply.code, reply.text, step, sender_side=step == "MAIL")
                break
        if error is None:
            return
        session = conn.session
        if len(replies) == 3 and replies[2].code == 354 and session is not None:
            # DATA accepted although MAIL or RCPT was not (RFC 2920 §3.1): an empty message
            # with no recipient ends the transaction.
            try:
                session.write(b".\r\n")
                await session.read(1)
            except SessionError:
                await conn.close()
        if isinstance(error, _Transient) and error.drop_connection:
            await conn.close()
        else:
            await conn.reset()
        raise error

    async def _content(self, conn: _Connection, data: bytes) -> Reply:
        """Send the message; when pipelining, the next due job's MAIL, RCPT and DATA with it."""
        session = conn.session
        assert session is not None
        ahead = self._take_ahead() if conn.may_look_ahead() else None
        try:
            session.write(data + self._envelope_bytes(ahead) if ahead else data)
        except SessionError as exc:
            self._put_back(ahead)
            await conn.close()
            raise _Transient(None, f"connection lost at DATA: {exc}", drop_connection=True) from exc
        conn.used += 1 if ahead else 0
        conn.next = ahead
        try:
            # The content's reply and the next envelope's three come as one group; while
            # every group is clean, _step carries on from the protocol's callback.
            replies = await session.read(4, conn.step) if ahead else await session.read(1)
        except SessionError as exc:
            # The replies to the next envelope did not all come: that job goes back.
            self._put_back(conn.next)
            conn.next, replies = None, session.take_arrived()
            await conn.close()
            if not replies:
                # The message may have been taken: never offer it again.
                raise _Final(
                    Outcome.UNKNOWN,
                    None,
                    f"no reply after DATA ({type(exc).__name__}: {exc}); "
                    "outcome unknown, not resent",
                ) from exc
        ahead, conn.next = conn.next, None
        reply = replies[0]
        if ahead is not None:
            conn.ahead = _Ahead(ahead, replies[1:])
        if reply.code != 250:
            error = _response_error(reply.code, reply.text, "DATA", sender_side=False)
            if isinstance(error, _Transient) and error.drop_connection:
                self._put_back(conn.ahead.job if conn.ahead else None)
                conn.ahead = None
                await conn.close()
            raise error
        return reply

    def _step(self, conn: _Connection, replies: list[Reply]) -> bool:
        """A group of replies while pipelining, taken in the protocol's callback when all is
        well: the content was accepted, so was the next envelope, and a job is due to go on.
        Then that job's content and the one after's envelope are written, as `_attempt` and
        `_content` would. Anything else is declined and goes the way of the coroutines."""
        job, ahead = conn.job, conn.next
        if (
            job is None
            or ahead is None
            or replies[0].code != 250
            or not _envelope_accepted(replies[1:])
            or not conn.may_look_ahead()
        ):
            return False
        after = self._take_ahead()
        if after is None:
            return False
        assert conn.session is not None
        assert ahead.data is not None
        conn.session.write(ahead.data + self._envelope_bytes(after))
        self.failure_streak = 0
        self._results[job.record_id] = Result(
            job.record_id, Outcome.SENT, replies[0].code, replies[0].text, job.tries
        )
        ahead.tries += 1
        conn.job, conn.next = ahead, after
        conn.used += 1
        return True

    def _take_ahead(self) -> Job | None:
        """The next due job that builds; one that cannot be built is recorded as failed."""
        while (job := self._take(due_only=True)) is not None:
            try:
                job.data = job.data or _build(job)
            except _Final as exc:
                self._results[job.record_id] = Result(job.record_id, exc.outcome, None, exc.message)
                continue
            return job
        return None

    def _put_back(self, job: Job | None) -> None:
        """A job whose content was never sent goes back to the front of the queue."""
        if job is not None:
            self._queue.appendleft(job)

    def _failed(self, message: str) -> None:
        self.failure_streak += 1
        self.last_error = message


_ENVELOPE_OK = ((250, 251), (250, 251), (354,))


def _envelope_accepted(replies: list[Reply]) -> bool:
    """MAIL, RCPT and DATA all accepted: the common case, checked without a coroutine."""
    return len(replies) == 3 and all(
        reply.code in ok for reply, ok in zip(replies, _ENVELOPE_OK, strict=True)
    )


def _build(job: Job) -> bytes:
    try:
        return job.build()
    except (UnicodeError, ValueError) as exc:
        raise _Final(Outcome.FAILED, None, f"cannot build: {exc}") from exc


def _unfinished(job: Job) -> Result:
    """A job left over: never tried, or deferred after its tries."""
    if not job.tries or job.last is None:
        return Result(job.record_id, Outcome.NOT_ATTEMPTED)
    return Result(job.record_id, Outcome.DEFERRED, job.last.code, job.last.message, job.tries)


def _response_error(
    code: int, message: str, step: str, *, sender_side: bool
) -> _Transient | _Final:
    text = f"{code} {message} (after {step})"
    if 400 <= code < 500:
        return _Transient(code, text, drop_connection=code == 421)
    if sender_side:
        return _Final(Outcome.REFUSED, code, text)
    return _Final(Outcome.BOUNCED, code, text)


def _describe_connect(config: DeliveryConfig, exc: BaseException) -> str:
    cause = exc.__cause__ or exc
    return f"cannot connect to SMTP server {config.smtp_host}:{config.smtp_port}: {cause}"
