"""20,000-recipient sends through two real workers into the real inbox, and a kill -9 crash.

Each recipient's Message-ID names the send and the record (`<tandem.SEND.RECORD@…>`), so the
Maildir tells exactly who received what, and how many times.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from tandem.core.paths import PROJECT_ROOT
from tandem.inbox.maildir import list_messages
from tests.e2e.stack import RunningStack, running_stack
from tests.e2e.waiting import wait_for

pytestmark = pytest.mark.e2e

RECIPIENTS = 20_000
BATCH_SIZE = 200
LOOPS_PER_WORKER = 2
SEND_ENV = {
    "TANDEM_SEND_BATCH_SIZE": str(BATCH_SIZE),
    "TANDEM_SEND_PARALLELISM": "4",
    "TANDEM_SEND_CONNECTIONS": "8",
    "TANDEM_SEND_LEASE_SECONDS": "20",
}
MESSAGE_ID = re.compile(r"<tandem\.(\d+)\.(\d+)@")


@pytest.fixture(scope="module")
def send_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """A stack whose worker, and every extra worker, runs with the settings above."""
    env = dict(SEND_ENV)  # running_stack gives each stack a broker database of its own
    with running_stack(tmp_path_factory.mktemp("sends"), extra_env=env) as running:
        yield running


def run_tandem(
    stack: RunningStack, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        env={**stack.env, **(env or {})},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def tandem(
    stack: RunningStack, *args: str, timeout: float = 120, env: dict[str, str] | None = None
) -> str:
    result = run_tandem(stack, *args, timeout=timeout, env=env)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


def tool(stack: RunningStack, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "tests.e2e.sends_tools", *args],
        env=stack.env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def start_worker(
    stack: RunningStack,
    name: str,
    concurrency: int = LOOPS_PER_WORKER,
    extra_env: dict[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """Another `tandem worker`, in its own process group, aimed at the stack's inbox."""
    env = {
        **stack.env,
        "TANDEM_SMTP_HOST": "127.0.0.1",
        "TANDEM_SMTP_PORT": str(stack.inbox_port),
        **(extra_env or {}),
    }
    with (stack.var_dir / f"{name}.log").open("wb") as log:  # the child keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "tandem", "worker", "--concurrency", str(concurrency)],
            env=env,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    wait_for(
        lambda: b"ready" in (stack.var_dir / f"{name}.log").read_bytes(), 120, what=f"{name} ready"
    )
    return process


def stop_worker(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def status(stack: RunningStack, send_id: int) -> dict[str, Any]:
    return json.loads(tandem(stack, "send", "status", str(send_id), "--json"))


def create_and_start(
    stack: RunningStack, audience: str, rows: int = RECIPIENTS, loops: int | None = None
) -> int:
    tool(stack, "seed", "--rows", str(rows), "--name", audience)
    send_id = int(
        tandem(
            stack,
            "send",
            "create",
            "--account",
            "E2E",
            "--email",
            "Welcome",
            "--de",
            audience,
            "--name",
            audience,
        ).strip()
    )
    parallelism = {"TANDEM_SEND_PARALLELISM": str(loops)} if loops else None
    tandem(stack, "send", "start", str(send_id), env=parallelism)
    return send_id


def wait_until_final(stack: RunningStack, send_id: int) -> dict[str, Any]:
    final: dict[str, Any] = {}

    def done() -> bool:
        final.update(status(stack, send_id))
        return bool(final["is_final"])

    wait_for(done, 900, interval=1, what=f"send {send_id} to finish")
    return final


def delivered(stack: RunningStack, send_id: int) -> Counter[int]:
    """How many messages of `send_id` each record id received, from the Maildir."""
    counts: Counter[int] = Counter()
    for message in list_messages(stack.var_dir / "mail"):
        match = MESSAGE_ID.match(message.message_id)
        if match and int(match.group(1)) == send_id:
            counts[int(match.group(2))] += 1
    return counts


def records(stack: RunningStack, send_id: int) -> dict[str, Any]:
    return json.loads(tool(stack, "records", str(send_id)))


def test_20000_recipients_through_two_workers_each_get_exactly_one_message(
    send_stack: RunningStack,
) -> None:
    second = start_worker(send_stack, "worker-2")
    try:
        send_id = create_and_start(send_stack, "Everyone")
        summary = wait_until_final(send_stack, send_id)
    finally:
        stop_worker(second)

    counts = delivered(send_stack, send_id)
    statuses = {int(k): v for k, v in records(send_stack, send_id)["records"].items()}
    assert summary["status"] == "completed"
    assert (summary["total"], summary["sent"], summary["remaining"]) == (RECIPIENTS, RECIPIENTS, 0)
    assert len(counts) == RECIPIENTS
    assert set(counts.values()) == {1}
    assert set(counts) == {record_id for record_id, s in statuses.items() if s == "sent"}


def test_kill_9_of_a_worker_mid_send_loses_at_most_its_batches_and_sends_nobody_twice(
    send_stack: RunningStack,
) -> None:
    victim = start_worker(send_stack, "victim")
    send_id = create_and_start(send_stack, "Crash")
    wait_for(
        lambda: status(send_stack, send_id)["sent"] >= RECIPIENTS // 4, 600, what="a quarter sent"
    )
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait()
    replacement = start_worker(send_stack, "replacement")
    try:
        summary = wait_until_final(send_stack, send_id)
    finally:
        stop_worker(replacement)

    counts = delivered(send_stack, send_id)
    dump = records(send_stack, send_id)
    print(f"crash send summary: {summary}")
    statuses = {int(k): v for k, v in dump["records"].items()}
    sent = {r for r, s in statuses.items() if s == "sent"}
    unknown = {r for r, s in statuses.items() if s == "unknown"}
    assert summary["status"] == "completed"
    assert summary["remaining"] == 0
    assert set(counts.values()) == {1}, "a recipient received two messages"
    assert sent | unknown == set(statuses)
    assert sent <= set(counts), "a record marked sent has no message"
    assert set(counts) <= sent | unknown, (
        "a message went to a record that is neither sent nor unknown"
    )
    assert summary["unknown"] == len(unknown) == sum(dump["lost_batch_sizes"])
    assert len(unknown) <= LOOPS_PER_WORKER * BATCH_SIZE


def test_a_second_start_and_duplicated_begin_and_delivery_tasks_send_nobody_twice(
    send_stack: RunningStack,
) -> None:
    rows = 3_000
    send_id = create_and_start(send_stack, "Twice", rows)

    again = run_tandem(send_stack, "send", "start", str(send_id))
    tool(send_stack, "enqueue", str(send_id))
    summary = wait_until_final(send_stack, send_id)

    assert again.returncode == 2
    assert "only a draft can start" in again.stderr + again.stdout
    counts = delivered(send_stack, send_id)
    assert summary["status"] == "completed"
    assert (summary["total"], summary["sent"]) == (rows, rows)
    assert len(counts) == rows
    assert set(counts.values()) == {1}, "a recipient received two messages"


def test_two_workers_with_different_concurrency_share_one_send_and_send_nobody_twice(
    send_stack: RunningStack,
) -> None:
    """Scaling out is configuration: more worker processes on the same broker and database,
    each with its own loops and connections; the claim protocol keeps every recipient to one."""
    rows = 6_000
    narrow = start_worker(send_stack, "narrow", 1, {"TANDEM_SEND_CONNECTIONS": "2"})
    wide = start_worker(
        send_stack, "wide", 3, {"TANDEM_SEND_CONNECTIONS": "12", "TANDEM_SEND_BATCH_SIZE": "150"}
    )
    try:
        send_id = create_and_start(send_stack, "Scaled", rows, loops=8)
        summary = wait_until_final(send_stack, send_id)
    finally:
        stop_worker(narrow)
        stop_worker(wide)

    counts = delivered(send_stack, send_id)
    dump = records(send_stack, send_id)
    assert summary["status"] == "completed"
    assert (summary["total"], summary["sent"]) == (rows, rows)
    assert len(counts) == rows
    assert set(counts.values()) == {1}, "a recipient received two messages"
    assert len(set(dump["batch_workers"])) >= 2, "one worker process delivered everything"
    assert 150 in dump["batch_sizes"], "the wide worker (batches of 150) delivered nothing"
