"""Start child processes, prefix their output with their names, and stop them together."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rich.console import Console
from rich.markup import escape

COLOURS = ("cyan", "magenta", "green", "yellow", "blue", "red")


@dataclass
class Child:
    """One supervised process."""

    name: str
    argv: Sequence[str]
    env: Mapping[str, str]
    process: subprocess.Popen[bytes] | None = None
    colour: str = "white"
    reader: threading.Thread | None = field(default=None, repr=False)


class Supervisor:
    """Run children until one exits or stop() is called."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.children: list[Child] = []
        self.width = 0
        self.lock = threading.Lock()

    def start(self, name: str, argv: Sequence[str], env: Mapping[str, str]) -> Child:
        """Start a child in its own process group, so Ctrl-C reaches only us."""
        child = Child(name, argv, env, colour=COLOURS[len(self.children) % len(COLOURS)])
        child.process = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.children.append(child)
        self.width = max(self.width, len(name))
        child.reader = threading.Thread(target=self._pump, args=(child,), daemon=True)
        child.reader.start()
        return child

    def say(self, name: str, line: str, colour: str = "white") -> None:
        """Print one line with a name prefix."""
        with self.lock:
            self.console.print(
                f"[{colour}]{name.ljust(self.width)} |[/] {escape(line)}", soft_wrap=True
            )

    def _pump(self, child: Child) -> None:
        assert child.process is not None
        assert child.process.stdout is not None
        with child.process.stdout:  # closed at its end (a part killed and started again)
            for raw in child.process.stdout:
                self.say(child.name, raw.decode("utf-8", "replace").rstrip(), child.colour)

    def first_exited(self) -> Child | None:
        """The first child that has exited, if any."""
        for child in self.children:
            if child.process is not None and child.process.poll() is not None:
                return child
        return None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM every child, then SIGKILL the process group of any that lingers."""
        for child in reversed(self.children):
            # Only the leader: granian and celery stop their own workers gracefully.
            if child.process is not None and child.process.poll() is None:
                child.process.terminate()
        deadline = time.monotonic() + timeout
        for child in self.children:
            assert child.process is not None
            remaining = max(0.1, deadline - time.monotonic())
            try:
                child.process.wait(remaining)
            except subprocess.TimeoutExpired:
                _kill_group(child)
                child.process.wait()
        for child in self.children:
            if child.reader is not None:
                child.reader.join(timeout=2)
            drained = child.reader is None or not child.reader.is_alive()
            if drained and child.process is not None and child.process.stdout is not None:
                child.process.stdout.close()  # the pipe the reader drained to its end


def _kill_group(child: Child) -> None:
    assert child.process is not None
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.process.pid, signal.SIGKILL)
