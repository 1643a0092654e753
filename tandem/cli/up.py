"""`tandem up`: migrate both databases, then run both services, a worker and the inbox."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from types import FrameType

import httpx
from rich.console import Console

from tandem.cli.errors import CliError
from tandem.cli.ports import ensure_free
from tandem.cli.supervisor import Supervisor
from tandem.core.paths import PROJECT_ROOT


@dataclass(frozen=True)
class Stack:
    """Where each part of the local stack listens."""

    host: str = "127.0.0.1"
    crm_port: int = 8001
    engagement_port: int = 8002
    inbox_port: int = 2525
    web_workers: int = 2
    worker_concurrency: int = 2

    @property
    def crm_url(self) -> str:
        return f"http://localhost:{self.crm_port}"

    @property
    def engagement_url(self) -> str:
        return f"http://localhost:{self.engagement_port}"


def stack_env(stack: Stack) -> dict[str, str]:
    """The environment every child gets: the caller's, plus where the others listen."""
    env = dict(os.environ)
    env.setdefault("TANDEM_CRM_URL", stack.crm_url)
    env.setdefault("TANDEM_ENGAGEMENT_URL", stack.engagement_url)
    env["TANDEM_SMTP_HOST"] = stack.host
    env["TANDEM_SMTP_PORT"] = str(stack.inbox_port)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    return env


def check_ports(stack: Stack) -> None:
    """Refuse to start when any port is taken, naming it."""
    ensure_free(stack.host, stack.crm_port, "CRM web", "--crm-port")
    ensure_free(stack.host, stack.engagement_port, "Engagement web", "--engagement-port")
    ensure_free(stack.host, stack.inbox_port, "SMTP inbox", "--inbox-port")


def migrate(env: dict[str, str], console: Console) -> None:
    """Apply both services' migrations before anything serves."""
    for service in ("crm", "engagement"):
        console.print(f"Migrating the {service} database…")
        argv = [sys.executable, "-m", "tandem", service, "migrate", "--noinput", "-v", "0"]
        if subprocess.run(argv, env=env, cwd=PROJECT_ROOT, check=False).returncode != 0:
            raise CliError(f"migrating the {service} database failed (see above)")


def web_argv(stack: Stack, port: int) -> list[str]:
    """Gunicorn serving one service, as in production."""
    return [
        sys.executable, "-m", "gunicorn", "config.wsgi:application",
        "--bind", f"{stack.host}:{port}",
        "--workers", str(stack.web_workers),
        "--no-control-socket",
        "--access-logfile", "-",
        "--graceful-timeout", "5",
    ]  # fmt: skip


def start_children(supervisor: Supervisor, stack: Stack, env: dict[str, str]) -> None:
    """CRM web, Engagement web, a worker and the inbox."""
    tandem = [sys.executable, "-m", "tandem"]
    supervisor.start("crm", web_argv(stack, stack.crm_port), {**env, "TANDEM_SERVICE": "crm"})
    supervisor.start(
        "engagement",
        web_argv(stack, stack.engagement_port),
        {**env, "TANDEM_SERVICE": "engagement"},
    )
    supervisor.start(
        "worker", [*tandem, "worker", "--concurrency", str(stack.worker_concurrency)], env
    )
    supervisor.start(
        "inbox", [*tandem, "inbox", "--host", stack.host, "--port", str(stack.inbox_port)], env
    )


def wait_healthy(urls: list[str], supervisor: Supervisor, timeout: float = 60.0) -> None:
    """Poll each /healthz until it answers 200; fail if a child dies first."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        if (dead := supervisor.first_exited()) is not None:
            raise CliError(f"{dead.name} exited while starting (see its output above)")
        if time.monotonic() > deadline:
            raise CliError("timed out waiting for " + ", ".join(pending))
        try:
            if httpx.get(f"{pending[0]}/healthz", timeout=2).status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.3)


def banner(stack: Stack, console: Console) -> None:
    """Tell the user where everything is."""
    console.print(
        "\n[bold]Tandem is up[/]\n"
        f"  CRM         {stack.crm_url}/\n"
        f"  Engagement  {stack.engagement_url}/\n"
        f"  Inbox       smtp://{stack.host}:{stack.inbox_port}  (read it: tandem inbox list)\n"
        "Press Ctrl-C to stop.\n",
        highlight=False,
    )


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_up(stack: Stack, console: Console) -> int:
    """Run the whole stack in the foreground until Ctrl-C (exit 0) or a child dies (exit 1)."""
    check_ports(stack)
    env = stack_env(stack)
    migrate(env, console)
    supervisor = Supervisor(console)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        start_children(supervisor, stack, env)
        wait_healthy([stack.crm_url, stack.engagement_url], supervisor)
        banner(stack, console)
        while (dead := supervisor.first_exited()) is None:
            time.sleep(0.5)
        console.print(f"[red]{dead.name} exited unexpectedly; stopping the others.[/]")
        return 1
    except KeyboardInterrupt:
        console.print("Stopping…")
        return 0
    finally:
        supervisor.stop()
        console.print("Stopped.")
