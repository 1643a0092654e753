"""`tandem up` runs both services, a worker and the inbox as real processes."""

from __future__ import annotations

import os
import smtplib
import socket
import subprocess
import sys
import uuid
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from celery import Celery

from tandem.core.paths import PROJECT_ROOT
from tandem.inbox.maildir import list_messages, read_message
from tests.e2e.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e


def test_both_services_answer_healthz(stack: RunningStack) -> None:
    crm = httpx.get(f"{stack.crm_url}/healthz")
    engagement = httpx.get(f"{stack.engagement_url}/healthz")

    assert (crm.status_code, crm.json()["service"]) == (200, "crm")
    assert (engagement.status_code, engagement.json()["service"]) == (200, "engagement")


def test_a_task_runs_on_the_worker_through_the_real_broker(stack: RunningStack) -> None:
    client = Celery(broker=stack.broker_url, backend=stack.result_backend)
    payload = uuid.uuid4().hex

    result = client.send_task("tandem.core.ping", args=[payload], queue="engagement")

    assert result.get(timeout=60) == payload


def test_a_message_sent_over_smtp_lands_in_the_maildir(stack: RunningStack) -> None:
    message = EmailMessage()
    message["From"] = "sender@example.test"
    message["To"] = "reader@example.test"
    message["Subject"] = "Hello from the end-to-end test"
    message["Message-ID"] = f"<{uuid.uuid4().hex}@tandem.test>"
    message.set_content("It works.")

    with smtplib.SMTP("127.0.0.1", stack.inbox_port, timeout=10) as smtp:
        smtp.send_message(message)

    stored = [
        m for m in list_messages(stack.var_dir / "mail") if m.message_id == message["Message-ID"]
    ]
    assert len(stored) == 1
    assert stored[0].subject == "Hello from the end-to-end test"
    raw = read_message(stack.var_dir / "mail", stored[0].key)
    assert b"Delivered-To: reader@example.test" in raw
    assert b"It works." in raw


def test_inbox_list_shows_the_message(stack: RunningStack) -> None:
    with smtplib.SMTP("127.0.0.1", stack.inbox_port, timeout=10) as smtp:
        smtp.sendmail(
            "a@example.test",
            ["b@example.test"],
            b"Subject: listed-subject\r\nTo: b@example.test\r\n\r\nx",
        )

    listing = subprocess.run(
        [sys.executable, "-m", "tandem", "inbox", "list"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert "listed-subject" in listing.stdout


def test_up_stops_every_child_on_ctrl_c(tmp_path: Path) -> None:
    with running_stack(tmp_path) as running:
        children = _children_of_stack(running)
        assert len(children) >= 4

    assert all(not _alive(pid) for pid in children)
    assert "Stopped." in running.log.read_text()


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "TANDEM_VAR_DIR": str(tmp_path)}

        result = subprocess.run(
            [sys.executable, "-m", "tandem", "up", "--crm-port", str(port)],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    assert result.returncode == 2
    assert f"port {port}" in result.stderr
    assert "CRM web" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert not (tmp_path / "crm.sqlite3").exists()


def _children_of_stack(stack: RunningStack) -> list[int]:
    """PIDs of every process whose environment names this stack's var directory."""
    marker = f"TANDEM_VAR_DIR={stack.var_dir}".encode()
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0"):
            pids.append(int(entry.name))
    return pids


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"
