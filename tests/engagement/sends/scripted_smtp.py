"""A scripted SMTP server on loopback for the protocol tests: offers PIPELINING or not, answers
RCPT as told, records every message and every read, and notes commands that arrived before
the previous reply when it did not offer PIPELINING."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Script:
    pipelining: bool = True
    rcpt_reply: Callable[[str], str] = lambda address: "250 2.1.5 OK"
    # Answer DATA with 354 even when no recipient was accepted (allowed; RFC 2920 §3.1).
    data_without_recipients: bool = False
    # After the content of this many messages (over all sessions), take the next one and then
    # go silent ("stall") or drop the connection ("drop") instead of answering it.
    fail_after: int | None = None
    failure: str = "drop"
    messages: list[tuple[list[str], bytes]] = field(default_factory=list)
    # Command verbs seen in each read, "." for the end of a message's content.
    reads: list[list[str]] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Session(asyncio.Protocol):
    def __init__(self, script: Script) -> None:
        self.script = script
        self.buffer = b""
        self.in_data = False
        self.content: list[bytes] = []
        self.rcpts: list[str] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"220 scripted ESMTP\r\n")

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        lines = self.buffer.split(b"\r\n")
        self.buffer = lines.pop()
        verbs: list[str] = []
        for position, line in enumerate(lines):
            if self.in_data:
                if line == b".":
                    verbs.append(".")
                self._content(line)
                continue
            verb = line[:4].decode().upper()
            verbs.append(verb)
            if not self.script.pipelining and position < len(lines) - 1:
                self.script.violations.append(f"{verb} was followed by more before its reply")
            self._command(verb, line[5:].decode())
        with self.script.lock:
            self.script.reads.append(verbs)

    def _reply(self, text: str) -> None:
        self.transport.write(text.encode() + b"\r\n")

    def _command(self, verb: str, argument: str) -> None:
        if verb == "EHLO":
            self._reply("250-scripted" + ("\r\n250-PIPELINING" if self.script.pipelining else ""))
            self._reply("250 8BITMIME")
        elif verb == "MAIL":
            self.rcpts = []
            self._reply("250 2.1.0 OK")
        elif verb == "RCPT":
            address = argument.removeprefix("TO:<").removesuffix(">")
            reply = self.script.rcpt_reply(address)
            if reply.startswith("2"):
                self.rcpts.append(address)
            self._reply(reply)
        elif verb == "DATA":
            if self.rcpts or self.script.data_without_recipients:
                self.in_data, self.content = True, []
                self._reply("354 go ahead")
            else:
                self._reply("554 5.5.1 no valid recipients")
        elif verb == "QUIT":
            self._reply("221 bye")
            self.transport.close()
        else:  # RSET, NOOP, HELO
            self.rcpts = []
            self._reply("250 OK")

    def _content(self, line: bytes) -> None:
        if line != b".":
            self.content.append(line[1:] if line.startswith(b".") else line)
            return
        self.in_data = False
        if not self.rcpts:
            self._reply("554 5.5.1 no valid recipients")
            return
        with self.script.lock:
            self.script.messages.append((self.rcpts, b"\r\n".join(self.content)))
            fail_after = self.script.fail_after
            failing = fail_after is not None and len(self.script.messages) == fail_after + 1
        if failing:
            self.in_data = True  # what follows is never answered
            if self.script.failure == "drop":
                self.transport.abort()
            return
        self._reply("250 2.0.0 queued")


@contextmanager
def scripted_server(script: Script) -> Iterator[int]:
    """Serve `script` on a free loopback port in a thread; yields the port."""
    loop = asyncio.new_event_loop()
    # The loop runs only in its own thread: the test's thread may hold a running loop already
    # (Playwright's synchronous API keeps one for the session's browser tests).
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    serving = loop.create_server(lambda: _Session(script), "127.0.0.1", 0)
    server = asyncio.run_coroutine_threadsafe(serving, loop).result(10)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        loop.call_soon_threadsafe(server.close)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()
