"""The issue's starting point, measured in the same run: delivery CPU per message of the code
as it was before issue 17 (BASELINE_COMMIT), on this machine, into the same sink.

CPU per message depends on the machine (a slower core takes longer for the same work), so the
cut is shown as the ratio of two figures taken side by side, not against a number read on
another machine. The baseline's code is exported from git into a temporary directory and run
with this checkout's virtualenv plus the two packages it used that are no longer installed.
Its delivery processes start after the snapshot, as they did then: their start-up CPU is
measured with one process that does nothing else and taken off.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.sends import PROCESSES, ROOT, Sink, database, engagement_env, run_checked

# The last commit before the work (9e9f07c, PIPELINING and the wire-form builder).
BASELINE_COMMIT = os.environ.get("BENCH_SENDS_BASELINE", "999e66ffb66d8ad7ebd45f76ca6c48567fc4c4bf")
RECIPIENTS = int(os.environ.get("BENCH_SENDS_BASELINE_RECIPIENTS", "20000"))
# What the baseline imported that this checkout no longer installs (pinned to what it used).
BASELINE_PACKAGES = ("aiosmtplib==5.1.3", "django-ninja==1.7.1")


class Unavailable(Exception):
    """The baseline cannot be measured here (its commit is not in this clone, say)."""


@dataclass(frozen=True)
class Baseline:
    database: str
    recipients: int
    message_bytes: int
    delivery_seconds: float
    cpu_seconds: float  # of the delivery processes, their start-up taken off
    sent: int

    @property
    def cpu_per_message_us(self) -> float:
        return 1e6 * self.cpu_seconds / self.recipients


def export(commit: str, into: Path) -> Path:
    """The code of `commit` in `into`, with the packages only it needs in `into/.deps`;
    Unavailable when git has no such commit here or the packages cannot be installed."""
    exported = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=False,
    )
    if exported.returncode != 0:
        raise Unavailable(
            f"commit {commit[:7]} is not in this clone (a shallow clone? `git fetch --unshallow`)"
        )
    archive = exported.stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    try:
        run_checked(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(into / ".deps"),
                *BASELINE_PACKAGES,
            ],
            dict(os.environ),
        )
    except RuntimeError as exc:
        raise Unavailable(f"cannot install {', '.join(BASELINE_PACKAGES)}: {exc}") from exc
    return into


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(code: Path, kind: str, sink: Sink) -> Baseline:
    """Snapshot and deliver RECIPIENTS with the baseline's own bench worker."""

    with tempfile.TemporaryDirectory(prefix="tandem-bench-") as var, database(kind) as db_env:
        env = {**engagement_env(var, sink.port, code), **db_env}
        env["PYTHONPATH"] = f"{code}{os.pathsep}{code / '.deps'}"

        def worker(*args: str) -> str:
            return run_checked([sys.executable, "-m", "bench.sends_worker", *args], env, code)

        run_checked([sys.executable, "-m", "tandem", "engagement", "migrate", "-v", "0"], env, code)
        worker("seed", str(RECIPIENTS))
        begun = json.loads(worker("begin"))
        before = _children_cpu()
        worker("summary", str(begun["send_id"]))
        start_up = _children_cpu() - before
        before, started = _children_cpu(), time.perf_counter()
        loops = [
            subprocess.Popen(
                [sys.executable, "-m", "bench.sends_worker", "deliver", str(begun["send_id"])],
                env=env,
                cwd=code,
                stdout=subprocess.DEVNULL,
            )
            for _ in range(PROCESSES)
        ]
        if any(loop.wait() != 0 for loop in loops):
            raise RuntimeError("the baseline's delivery failed (its stderr is above)")
        seconds, cpu = time.perf_counter() - started, _children_cpu() - before
        summary = json.loads(worker("summary", str(begun["send_id"])))
        return Baseline(
            kind,
            RECIPIENTS,
            begun["message_bytes"],
            seconds,
            cpu - PROCESSES * start_up,
            summary["sent"],
        )


def measure_all(kinds: list[str], sink: Sink) -> list[Baseline]:
    with tempfile.TemporaryDirectory(prefix="tandem-baseline-") as directory:
        code = export(BASELINE_COMMIT, Path(directory))
        return [measure(code, kind, sink) for kind in kinds]
