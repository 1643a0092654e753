"""The SMTP protocol layer: reply parsing, PIPELINING and the lock-step fallback, per-recipient
outcomes inside pipelined groups. Real sockets on loopback; no database."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest

from tandem.engagement.sends.smtp import Job, Outcome, Result, SmtpPool
from tandem.engagement.sends.smtp_session import SessionError, SmtpSession
from tests.engagement.sends.conftest import config_for
from tests.engagement.sends.scripted_smtp import Script, scripted_server

T = TypeVar("T")


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        pass

    def abort(self) -> None:
        self.aborted = True


def _off_thread(work: Callable[[], T]) -> T:
    """Run `work` in a thread of its own: this thread may hold a running event loop already
    (Playwright's synchronous API keeps one for the session's browser tests)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(work).result()


_loops: list[asyncio.AbstractEventLoop] = []


@pytest.fixture(autouse=True)
def _close_loops() -> Iterator[None]:
    yield
    while _loops:
        _loops.pop().close()


def _session(timeout: float = 5.0) -> tuple[SmtpSession, _Transport]:
    loop = asyncio.new_event_loop()
    _loops.append(loop)
    session = SmtpSession(loop, timeout)
    transport = _Transport()
    session.connection_made(transport)
    return session, transport


def _read(session: SmtpSession, count: int) -> list[tuple[int, str]]:
    replies = _off_thread(lambda: session.loop.run_until_complete(session.read(count)))
    return [(reply.code, reply.text) for reply in replies]


def test_replies_split_anywhere_across_reads_parse_the_same() -> None:
    wire = b"250-first\r\n250-PIPELINING\r\n250 last\r\n354 go\n550 5.1.1 no\r\n"
    for cut in range(1, len(wire)):
        session, _ = _session()
        session.data_received(wire[:cut])
        session.data_received(wire[cut:])

        assert _read(session, 3) == [
            (250, "first\nPIPELINING\nlast"),
            (354, "go"),
            (550, "5.1.1 no"),
        ]


def test_a_line_that_is_not_an_smtp_reply_ends_the_session() -> None:
    session, transport = _session()
    session.data_received(b"HTTP/1.1 400 Bad Request\r\n")

    with pytest.raises(SessionError, match="not an SMTP reply"):
        _read(session, 1)
    assert transport.aborted


def test_an_endless_reply_line_ends_the_session() -> None:
    session, transport = _session()
    session.data_received(b"250 " + b"x" * 10_000)

    with pytest.raises(SessionError, match="too long"):
        _read(session, 1)
    assert transport.aborted


def test_no_reply_within_the_timeout_ends_the_session() -> None:
    session, transport = _session(timeout=0.05)

    with pytest.raises(SessionError, match="no reply within"):
        _read(session, 1)
    assert transport.aborted


def test_a_lost_connection_fails_the_waiting_read() -> None:
    session, _ = _session()
    session.loop.call_soon(session.connection_lost, ConnectionResetError("reset by peer"))

    with pytest.raises(SessionError, match="connection lost: reset by peer"):
        _read(session, 1)


def _jobs(count: int) -> list[Job]:
    return [
        Job(
            i,
            f"r{i}@example.test",
            lambda i=i: f"Subject: {i}\r\n\r\n..dot line {i}\r\n.\r\n".encode(),
        )
        for i in range(count)
    ]


def _deliver(port: int, jobs: list[Job], **config: object) -> list[Result]:
    pool = SmtpPool(config_for(port, **config))

    async def run() -> list[Result]:
        try:
            return await pool.deliver("news@shop.test", jobs, time.monotonic() + 30)
        finally:
            await pool.close()

    return _off_thread(lambda: asyncio.run(run()))


def test_with_pipelining_envelope_and_next_envelope_ride_with_the_content() -> None:
    script = Script(pipelining=True)
    with scripted_server(script) as port:
        results = _deliver(port, _jobs(20), connections=1, messages_per_connection=100)

    assert [r.outcome for r in results] == [Outcome.SENT] * 20
    assert sorted(rcpts[0] for rcpts, _ in script.messages) == sorted(
        f"r{i}@example.test" for i in range(20)
    )
    groups = [verbs for verbs in script.reads if verbs and verbs != ["QUIT"]]
    # The first envelope in one read; every later one in the read that ended the previous
    # message's content; the last content alone.
    assert groups == [["EHLO"], ["MAIL", "RCPT", "DATA"]] + [[".", "MAIL", "RCPT", "DATA"]] * 19 + [
        ["."]
    ]
    assert script.messages[0][1] == b"Subject: 0\r\n\r\n.dot line 0"


def test_without_pipelining_the_client_waits_for_each_reply() -> None:
    script = Script(pipelining=False)
    with scripted_server(script) as port:
        results = _deliver(port, _jobs(12), connections=2, messages_per_connection=5)

    assert [r.outcome for r in results] == [Outcome.SENT] * 12
    assert script.violations == []
    assert all(len(verbs) <= 1 for verbs in script.reads)
    assert Counter(rcpts[0] for rcpts, _ in script.messages) == {
        f"r{i}@example.test": 1 for i in range(12)
    }


def test_mixed_rcpt_replies_in_pipelined_groups_are_kept_per_recipient() -> None:
    tries: Counter[str] = Counter()

    def rcpt(address: str) -> str:
        tries[address] += 1
        number = int(address[1:].split("@")[0])
        if number % 3 == 0:
            return "550 5.1.1 no such user"
        if number % 3 == 1 and tries[address] == 1:
            return "451 4.7.1 greylisted"
        return "250 2.1.5 OK"

    script = Script(pipelining=True, rcpt_reply=rcpt)
    with scripted_server(script) as port:
        results = _deliver(port, _jobs(15), connections=2, retry_backoff=0.0)

    by_id = {r.record_id: r for r in results}
    assert {i for i, r in by_id.items() if r.outcome is Outcome.BOUNCED} == {0, 3, 6, 9, 12}
    assert all("550 5.1.1 no such user (after RCPT)" in by_id[i].message for i in (0, 3, 6, 9, 12))
    assert {i for i, r in by_id.items() if r.outcome is Outcome.SENT} == set(range(15)) - {
        0,
        3,
        6,
        9,
        12,
    }
    assert {by_id[i].tries for i in (1, 4, 7, 10, 13)} == {2}
    delivered = Counter(rcpts[0] for rcpts, _ in script.messages)
    assert set(delivered.values()) == {1}
    assert len(delivered) == 10


def test_data_accepted_after_a_refused_rcpt_gets_an_empty_message_that_delivers_nothing() -> None:
    script = Script(
        pipelining=True,
        rcpt_reply=lambda address: "550 5.1.1 no" if address.startswith("r1@") else "250 OK",
        data_without_recipients=True,
    )
    with scripted_server(script) as port:
        results = _deliver(port, _jobs(3), connections=1)

    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.BOUNCED, Outcome.SENT]
    assert sorted(rcpts[0] for rcpts, _ in script.messages) == [
        "r0@example.test",
        "r2@example.test",
    ]


@pytest.mark.parametrize("failure", ["drop", "stall"])
def test_a_session_failing_after_a_content_in_a_steady_pipelined_run_resends_nothing(
    failure: str,
) -> None:
    # The first five messages run in the steady pipelined exchange (one write and one read a
    # message, no task woken); then the server takes the sixth message's content and never
    # answers it, while the seventh's envelope rode with it.
    script = Script(pipelining=True, fail_after=5, failure=failure)
    with scripted_server(script) as port:
        results = _deliver(port, _jobs(12), connections=1, messages_per_connection=100, timeout=0.5)

    by_id = {r.record_id: r for r in results}
    assert by_id[5].outcome is Outcome.UNKNOWN
    assert "outcome unknown, not resent" in by_id[5].message
    assert {i for i, r in by_id.items() if r.outcome is Outcome.SENT} == set(range(12)) - {5}
    # The seventh's content was never sent: it went back to the queue and out on a new
    # session. Every message was tried once.
    assert {r.tries for r in results} == {1}
    delivered = Counter(rcpts[0] for rcpts, _ in script.messages)
    assert delivered == {f"r{i}@example.test": 1 for i in range(12)}
    # The first session: each message's content with the next envelope, until the sixth's
    # (the server no longer reads the seventh's envelope that came with it).
    assert script.reads[:8] == [["EHLO"], ["MAIL", "RCPT", "DATA"]] + [
        [".", "MAIL", "RCPT", "DATA"]
    ] * 5 + [["."]]
