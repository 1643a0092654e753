"""`tandem up`: migrate both databases, then run both services, their workers and the inbox."""

from __future__ import annotations

import dataclasses
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import httpx
from rich.console import Console

from tandem.cli.errors import CliError
from tandem.cli.mc_keys import ensure_mc_keys, mc_env
from tandem.cli.ports import ensure_free
from tandem.cli.stack_record import stack_record
from tandem.cli.supervisor import Supervisor
from tandem.cli.tls import LocalTls, ensure_local_tls
from tandem.core.paths import PROJECT_ROOT, var_dir

# granian's default access line, pinned so that it never gains %(query_string)s: a GET to
# /services/oauth2/revoke carries the token in its query (ADR 0403). %(path)s is PATH_INFO.
ACCESS_LOG_FORMAT = (
    '[%(time)s] %(addr)s - "%(method)s %(path)s %(protocol)s" %(status)d %(dt_ms).3f'
)


@dataclass(frozen=True)
class Stack:
    """Where each part of the local stack listens."""

    host: str = "127.0.0.1"
    crm_port: int = 8001
    engagement_port: int = 8002
    inbox_port: int = 2525
    web_workers: int = 2
    worker_concurrency: int = 2
    tls: LocalTls | None = None  # the CRM port itself speaks HTTPS (`tandem up --https`)
    # A second CRM port speaking HTTPS from the local CA, beside the plain HTTP one (0: none).
    crm_https_port: int = 0
    https_tls: LocalTls | None = None
    # Accept the JWT audiences Salesforce clients hard-code (TANDEM_OAUTH_SALESFORCE_AUDIENCES).
    salesforce_audiences: bool = False

    @property
    def crm_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://localhost:{self.crm_port}"

    @property
    def crm_https_url(self) -> str | None:
        """The CRM's second, HTTPS address, when it has one."""
        if self.https_tls is None or not self.crm_https_port:
            return None
        return f"https://localhost:{self.crm_https_port}"

    @property
    def ca_file(self) -> Path | None:
        """The local CA a client trusts to call the CRM over HTTPS."""
        tls = self.tls or self.https_tls
        return tls.ca_file if tls else None

    @property
    def engagement_url(self) -> str:
        return f"http://localhost:{self.engagement_port}"


def stack_env(stack: Stack, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every child gets: the caller's (or `base`), plus where the others
    listen."""
    env = dict(os.environ if base is None else base)
    env.setdefault("TANDEM_CRM_URL", stack.crm_url)
    env.setdefault("TANDEM_ENGAGEMENT_URL", stack.engagement_url)
    env["TANDEM_SMTP_HOST"] = stack.host
    env["TANDEM_SMTP_PORT"] = str(stack.inbox_port)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")]))
    if stack.salesforce_audiences:
        env.setdefault("TANDEM_OAUTH_SALESFORCE_AUDIENCES", "true")
    if stack.ca_file:
        # The Engagement (Connect) must trust the local CA to call the CRM over HTTPS.
        env["TANDEM_CRM_CA_FILE"] = str(stack.ca_file)
    return env


def check_ports(stack: Stack) -> None:
    """Refuse to start when any port is taken, naming it."""
    ensure_free(stack.host, stack.crm_port, "CRM web", "--crm-port")
    if stack.crm_https_url:
        ensure_free(stack.host, stack.crm_https_port, "CRM web (HTTPS)", "--crm-https-port")
    ensure_free(stack.host, stack.engagement_port, "Engagement web", "--engagement-port")
    ensure_free(stack.host, stack.inbox_port, "SMTP inbox", "--inbox-port")


def migrate(env: dict[str, str], console: Console) -> None:
    """Apply both services' migrations before anything serves."""
    for service in ("crm", "engagement"):
        console.print(f"Migrating the {service} database…")
        argv = [sys.executable, "-m", "tandem", service, "migrate", "--noinput", "-v", "0"]
        if subprocess.run(argv, env=env, cwd=PROJECT_ROOT, check=False).returncode != 0:
            raise CliError(f"migrating the {service} database failed (see above)")


def web_argv(
    host: str,
    port: int,
    *,
    workers: int = 2,
    threads: int = 2,
    tls: LocalTls | None = None,
    access_log: bool = True,
) -> list[str]:
    """granian serving one service's WSGI application, as in production (ADR 0008): `workers`
    processes of `threads` threads each, over TLS when `tls` is given."""
    certificate = (
        ["--ssl-certificate", str(tls.cert_file), "--ssl-keyfile", str(tls.key_file)] if tls else []
    )
    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "config.wsgi:application",
        "--host",
        host,
        "--port",
        str(port),
        "--http",
        "1",
        "--no-ws",
        "--workers",
        str(workers),
        "--blocking-threads",
        str(threads),
        "--backlog",
        "2048",
        "--workers-kill-timeout",
        "5",
        *(["--access-log", "--access-log-fmt", ACCESS_LOG_FORMAT] if access_log else []),
        *certificate,
    ]


def connect_env(env: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """The Marketing Cloud app for Connect: a key pair made once under var/connect/."""
    if env.get("TANDEM_MC_CONSUMER_KEY"):
        return {}, {}  # the deployer configured their own
    root = Path(env["TANDEM_VAR_DIR"]).resolve() if env.get("TANDEM_VAR_DIR") else var_dir()
    return mc_env(ensure_mc_keys(root / "connect"), env["TANDEM_ENGAGEMENT_URL"])


def start_children(supervisor: Supervisor, stack: Stack, env: dict[str, str]) -> None:
    """CRM web, Engagement web, the Engagement and CRM workers and the inbox."""
    tandem = [sys.executable, "-m", "tandem"]
    crm_mc, engagement_mc = connect_env(env)
    crm_env = {**env, **crm_mc, "TANDEM_SERVICE": "crm"}
    if stack.tls:
        crm_env["TANDEM_SECURE_COOKIES"] = "1"
    workers = stack.web_workers
    crm_web = web_argv(stack.host, stack.crm_port, workers=workers, tls=stack.tls)
    supervisor.start("crm", crm_web, crm_env)
    if stack.crm_https_url:
        supervisor.start(
            "crm-https",
            web_argv(stack.host, stack.crm_https_port, workers=workers, tls=stack.https_tls),
            crm_https_env(stack, crm_env),
        )
    supervisor.start(
        "engagement",
        web_argv(stack.host, stack.engagement_port, workers=workers),
        {**env, **engagement_mc, "TANDEM_SERVICE": "engagement"},
    )
    supervisor.start(
        "worker",
        [*tandem, "worker", "--concurrency", str(stack.worker_concurrency)],
        {**env, **engagement_mc},
    )
    # The CRM's own worker runs Bulk API jobs (queue "crm", on the same broker).
    supervisor.start(
        "crm-worker", [*tandem, "worker", "--service", "crm", "--concurrency", "1"], crm_env
    )
    supervisor.start(
        "inbox", [*tandem, "inbox", "--host", stack.host, "--port", str(stack.inbox_port)], env
    )


def crm_https_env(stack: Stack, crm_env: dict[str, str]) -> dict[str, str]:
    """The CRM's environment on its HTTPS port: the URLs it hands out (`instance_url`, the
    token endpoint in discovery) name that port, unless the deployer set their own URL."""
    env = {**crm_env, "TANDEM_SECURE_COOKIES": "1"}
    if stack.crm_https_url and env.get("TANDEM_CRM_URL") == stack.crm_url:
        env["TANDEM_CRM_URL"] = stack.crm_https_url
    return env


def wait_healthy(
    urls: list[str],
    supervisor: Supervisor,
    verify: ssl.SSLContext | bool = True,
    timeout: float = 60.0,
) -> None:
    """Poll each /healthz until it answers 200; fail if a child dies first."""
    deadline = time.monotonic() + timeout
    pending = list(urls)
    while pending:
        if (dead := supervisor.first_exited()) is not None:
            raise CliError(f"{dead.name} exited while starting (see its output above)")
        if time.monotonic() > deadline:
            raise CliError("timed out waiting for " + ", ".join(pending))
        try:
            response = httpx.get(f"{pending[0]}/healthz", timeout=2, verify=verify)
            if response.status_code == 200:
                pending.pop(0)
                continue
        except httpx.HTTPError:
            pass
        time.sleep(0.3)


def banner(stack: Stack, console: Console) -> None:
    """Tell the user where everything is."""
    lines = [
        "",
        "[bold]Tandem is up[/]",
        f"  CRM         {stack.crm_url}/",
        *([f"  CRM (HTTPS) {stack.crm_https_url}/"] if stack.crm_https_url else []),
        f"  Engagement  {stack.engagement_url}/",
        f"  Inbox       smtp://{stack.host}:{stack.inbox_port}  (read it: tandem inbox list)",
    ]
    if stack.ca_file:
        lines += [
            f"  CA file     {stack.ca_file}  (trust it to call the CRM over HTTPS)",
            "  Clients trust it with:",
            f"    export NODE_EXTRA_CA_CERTS={stack.ca_file}",
            f"    export REQUESTS_CA_BUNDLE={stack.ca_file}",
        ]
    lines += ["Press Ctrl-C to stop.", ""]
    console.print("\n".join(lines), highlight=False, soft_wrap=True)  # copyable lines


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def with_local_tls(stack: Stack) -> Stack:
    """The same stack, with the CRM serving HTTPS from the local CA under var/tls."""
    return dataclasses.replace(stack, tls=ensure_local_tls(var_dir() / "tls"))


def with_https_port(stack: Stack, port: int) -> Stack:
    """The same stack, with the CRM also serving HTTPS on `port` from the local CA under
    var/tls (nothing when `port` is 0, or when the CRM port speaks HTTPS already)."""
    if not port or stack.tls:
        return stack
    return dataclasses.replace(
        stack, crm_https_port=port, https_tls=ensure_local_tls(var_dir() / "tls")
    )


def run_up(stack: Stack, console: Console, on_ready: Callable[[], None] | None = None) -> int:
    """Run the whole stack in the foreground until Ctrl-C (exit 0) or a child dies (exit 1);
    `on_ready` runs once both services answer."""
    check_ports(stack)
    env = stack_env(stack)
    migrate(env, console)
    stack_record(env)  # commands run by hand in another shell print this stack's URLs
    supervisor = Supervisor(console)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        start_children(supervisor, stack, env)
        verify = ssl.create_default_context(cafile=stack.ca_file) if stack.ca_file else True
        urls = [stack.crm_url, *filter(None, [stack.crm_https_url]), stack.engagement_url]
        wait_healthy(urls, supervisor, verify)
        if on_ready is not None:
            on_ready()
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


def ensure_running(stack: Stack) -> None:
    """Refuse, naming the fix, when the stack does not answer (commands that drive it)."""
    for name, url in (("CRM", stack.crm_url), ("Engagement", stack.engagement_url)):
        try:
            healthy = httpx.get(f"{url}/healthz", timeout=5).status_code == 200
        except httpx.HTTPError:
            healthy = False
        if not healthy:
            raise CliError(f"the {name} does not answer at {url}: start the demo first (make demo)")
