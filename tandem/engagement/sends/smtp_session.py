"""A small SMTP client session for delivery: RFC 5321 replies and RFC 2920 PIPELINING.

One asyncio Protocol per connection parses replies as they arrive and hands them over a group
at a time: one future per group of commands, not a coroutine and a wait_for per command. The
reply timeout is one timer per session, re-armed only when it fires (ADR 0302).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import NamedTuple

MAX_LINE = 4096  # RFC 5321 §4.5.3.1.5 allows 512; be lenient, never unbounded
_SEPARATORS = (b" ", b"-", b"")


class SessionError(Exception):
    """The session cannot go on: connection lost, timeout, or a reply that is not SMTP."""


class Reply(NamedTuple):
    """One reply; a tuple, as four are made for every message (cheaper than a dataclass)."""

    code: int
    raw: bytes  # the reply's text, lines joined by LF; decoded only when someone reads it

    @property
    def text(self) -> str:
        return self.raw.decode("utf-8", "replace")

    def __str__(self) -> str:
        return f"{self.code} {self.text}"


class SessionRefused(Exception):
    """The server answered the greeting or EHLO/HELO with an error."""

    def __init__(self, reply: Reply, step: str) -> None:
        super().__init__(f"{reply} (after {step})")
        self.reply = reply


class SmtpSession(asyncio.Protocol):
    """One SMTP connection: write bytes, read a number of replies."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float) -> None:
        self.loop = loop
        self.timeout = timeout
        self.pipelining = False
        self.transport: asyncio.Transport | None = None
        self._buffer = b""
        self._lines: list[bytes] = []  # text of the multi-line reply being read
        self._replies: list[Reply] = []
        self._want = 0
        self._step: Callable[[list[Reply]], bool] | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._error: SessionError | None = None

    @property
    def is_open(self) -> bool:
        return self._error is None and self.transport is not None

    # asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        lines = (self._buffer + data if self._buffer else data).split(b"\n")
        self._buffer = lines.pop()
        for line in lines:
            self._line(line)
            if self._error is not None:
                return
        if len(self._buffer) > MAX_LINE:
            self._fail(SessionError("reply line too long"))
            return
        waiter = self._waiter
        if waiter is None or len(self._replies) < self._want or waiter.done():
            return
        step, want = self._step, self._want
        while step is not None and step(self._replies[:want]):
            # The step took this group and wrote the commands of the next one: wait on.
            del self._replies[:want]
            self._deadline = self.loop.time() + self.timeout
            if len(self._replies) < want:
                return
        waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(SessionError(f"connection lost{f': {exc}' if exc else ''}"), abort=False)

    # The session's API

    def write(self, data: bytes) -> None:
        """Send bytes now (a whole group of commands in one write)."""
        if self._error is not None:
            raise self._error
        assert self.transport is not None
        self.transport.write(data)

    async def read(
        self, count: int, step: Callable[[list[Reply]], bool] | None = None
    ) -> list[Reply]:
        """The next `count` replies, waiting at most `timeout` for each group of them.

        `step`, if given, is offered each group of `count` replies that arrives while this
        waits, as it arrives: when it returns True it has dealt with the group (and written
        the commands whose replies make the next group), and the wait goes on. The group it
        declines is returned. This lets a steady exchange run from the protocol's callback,
        without waking the waiting task for every message (ADR 0305).
        """
        if len(self._replies) < count:
            if self._error is not None:
                raise self._error
            self._want, self._step = count, step
            self._deadline = self.loop.time() + self.timeout
            if self._timer is None:
                self._timer = self.loop.call_at(self._deadline, self._expire)
            self._waiter = self.loop.create_future()
            try:
                await self._waiter
            finally:
                self._waiter = self._step = None
        replies = self._replies[:count]
        del self._replies[:count]
        return replies

    def take_arrived(self) -> list[Reply]:
        """The replies that arrived and were not read (after a failed `read`: those that came
        before the failure)."""
        replies, self._replies = self._replies, []
        return replies

    async def command(self, line: bytes) -> Reply:
        """Send one command line and read its reply."""
        self.write(line + b"\r\n")
        return (await self.read(1))[0]

    def abort(self) -> None:
        self._fail(SessionError("closed"))

    async def quit(self, timeout: float) -> None:
        """QUIT politely, then close; never raises."""
        if self._error is None:
            self.timeout = timeout
            with contextlib.suppress(SessionError):
                await self.command(b"QUIT")
        self.abort()

    # Internals

    def _line(self, line: bytes) -> None:
        line = line.rstrip(b"\r")
        code, separator = line[:3], line[3:4]
        if not (code.isdigit() and len(code) == 3 and separator in _SEPARATORS):
            self._fail(SessionError(f"not an SMTP reply: {line[:80]!r}"))
            return
        if separator == b"-":
            self._lines.append(line[4:])
            return
        if self._lines:
            self._lines.append(line[4:])
            text, self._lines = b"\n".join(self._lines), []
        else:
            text = line[4:]
        self._replies.append(Reply(int(code), text))

    def _expire(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return
        if self.loop.time() < self._deadline:
            self._timer = self.loop.call_at(self._deadline, self._expire)
            return
        self._fail(SessionError(f"no reply within {self.timeout:g} s"))

    def _fail(self, error: SessionError, *, abort: bool = True) -> None:
        if self._error is None:
            self._error = error
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(self._error)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if abort and self.transport is not None:
            self.transport.abort()


async def open_session(host: str, port: int, *, timeout: float, local_hostname: str) -> SmtpSession:
    """Connect, read the greeting, EHLO (HELO if EHLO is refused); note PIPELINING.

    Raises OSError or SessionError when the server cannot be reached, SessionRefused when it
    answers with an error.
    """
    loop = asyncio.get_running_loop()
    try:
        _, session = await asyncio.wait_for(
            loop.create_connection(lambda: SmtpSession(loop, timeout), host, port), timeout
        )
    except TimeoutError as exc:
        raise SessionError(f"no connection within {timeout:g} s") from exc
    try:
        (greeting,) = await session.read(1)
        if greeting.code != 220:
            raise SessionRefused(greeting, "connect")
        name = local_hostname.encode("ascii")
        ehlo = await session.command(b"EHLO " + name)
        if ehlo.code == 250:
            keywords = {line.split(" ", 1)[0].upper() for line in ehlo.text.split("\n")[1:]}
            session.pipelining = "PIPELINING" in keywords
        else:
            helo = await session.command(b"HELO " + name)
            if helo.code != 250:
                raise SessionRefused(helo, "HELO")
    except BaseException:
        session.abort()
        raise
    return session
