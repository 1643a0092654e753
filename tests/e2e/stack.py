"""Start `tandem up` as a real process on free ports, with its own var directory and databases."""

from __future__ import annotations

import fcntl
import os
import signal
import ssl
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

from tandem.cli.ports import free_port
from tandem.cli.supervisor import Child, Supervisor
from tandem.core.paths import PROJECT_ROOT
from tests.e2e.waiting import wait_for


@dataclass(frozen=True)
class RunningStack:
    """What a test needs to reach the stack."""

    crm_url: str
    engagement_url: str
    inbox_port: int
    var_dir: Path
    env: dict[str, str]
    log: Path
    ca_file: Path | None = None
    crm_https_url: str | None = None  # the CRM's second port, HTTPS from the local CA

    @property
    def verify(self) -> ssl.SSLContext | bool:
        """What an HTTP client passes as `verify` to call the CRM."""
        return ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True

    @property
    def broker_url(self) -> str:
        return self.env.get("TANDEM_BROKER_URL") or f"sqla+sqlite:///{self.var_dir}/broker.sqlite3"

    @property
    def result_backend(self) -> str:
        if self.broker_url.startswith("redis"):
            return self.broker_url
        return f"db+sqlite:///{self.var_dir}/celery-results.sqlite3"


@contextmanager
def fresh_postgres_database(base_url: str, owner: str | None = None) -> Iterator[str]:
    """A new, empty database on the server of `base_url`, dropped afterwards; with `owner`,
    that role owns it and the URL logs in as that role."""
    parts = urlsplit(base_url)
    name = f"tandem_e2e_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))
    if owner:
        parts = parts._replace(netloc=f"{owner}@{parts.hostname}:{parts.port or 5432}")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_role(base_url: str, connection_limit: int) -> Iterator[str]:
    """A new login role allowed `connection_limit` connections at once, dropped afterwards.
    Services logging in as it meet "too many connections" (SQLSTATE 53300, as when the
    server's own slots are full) once that many are open, and other users of the server
    are not disturbed."""
    name = f"tandem_e2e_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(urlsplit(base_url)._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE ROLE "{name}" LOGIN CONNECTION LIMIT {int(connection_limit)}')
    try:
        yield name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP ROLE IF EXISTS "{name}"')


def _wait_healthy(
    urls: list[str], process: subprocess.Popen[bytes], log: Path, verify: object
) -> None:

    def healthy(url: str) -> bool:
        if process.poll() is not None:
            raise RuntimeError(f"tandem up exited early:\n{log.read_text()}")
        try:
            context = verify() if callable(verify) else verify
            return httpx.get(f"{url}/healthz", timeout=2, verify=context).status_code == 200
        except (httpx.HTTPError, OSError):  # OSError: the CA file is not written yet
            return False

    for url in urls:
        wait_for(
            lambda url=url: healthy(url),
            120,
            interval=0.3,
            what=lambda url=url: f"{url} to become healthy:\n{log.read_text()}",
        )


@contextmanager
def running_stack(
    var_dir: Path,
    extra_env: dict[str, str] | None = None,
    *,
    https: bool = False,
    https_port: bool = False,
    command: str = "up",
) -> Iterator[RunningStack]:
    """Run `tandem up` (or `tandem demo`) until the block ends, then stop it with Ctrl-C and
    check it stopped.

    `https`: the CRM port speaks HTTPS; `https_port`: a second CRM port does, beside HTTP
    (what `tandem up` does by default; off here unless asked, to spare a process)."""
    with databases() as database_env, _redis_broker() as broker_env:
        crm_port, engagement_port, inbox_port = free_port(), free_port(), free_port()
        second_port = free_port() if https_port and not https else 0
        env = _environment(var_dir, {**database_env, **broker_env}, extra_env)
        log = var_dir / "up.log"
        argv = [
            sys.executable,
            "-m",
            "tandem",
            command,
            "--crm-port",
            str(crm_port),
            "--engagement-port",
            str(engagement_port),
            "--inbox-port",
            str(inbox_port),
            "--web-workers",
            "1",
            "--crm-https-port",
            str(second_port),
            *(["--https"] if https else []),
        ]
        with log.open("wb") as out:
            process = subprocess.Popen(
                argv,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=PROJECT_ROOT,
                start_new_session=True,
            )
        stack = RunningStack(
            crm_url=f"{'https' if https else 'http'}://127.0.0.1:{crm_port}",
            engagement_url=f"http://127.0.0.1:{engagement_port}",
            inbox_port=inbox_port,
            var_dir=var_dir,
            env=env,
            log=log,
            ca_file=var_dir / "tls" / "ca.pem" if https or second_port else None,
            crm_https_url=f"https://127.0.0.1:{second_port}" if second_port else None,
        )
        try:
            # The CA file appears only once `tandem up` has written it: build the context late.
            crm_urls = [stack.crm_url, *filter(None, [stack.crm_https_url])]
            _wait_healthy(crm_urls, process, log, lambda: stack.verify)
            _wait_healthy([stack.engagement_url], process, log, True)
            yield stack
        finally:
            _stop(process, log)


def _environment(
    var_dir: Path, service_env: dict[str, str], extra_env: dict[str, str] | None
) -> dict[str, str]:
    return {
        **os.environ,
        **service_env,
        **(extra_env or {}),
        "TANDEM_VAR_DIR": str(var_dir),
        "PYTHONPATH": str(PROJECT_ROOT),
    }


class Parts:
    """The parts of `tandem up` (crm, engagement, worker, inbox), each started as `tandem up`
    starts it, but by the test, so that one can be killed and started again while the others
    go on (`tandem up` stops everything when one part dies)."""

    WEB = ("crm", "engagement")

    def __init__(self, stack: RunningStack, supervisor: Supervisor) -> None:
        self.stack = stack
        self.supervisor = supervisor
        # How `tandem up` started each part: a restart starts it so again, unless told more.
        self.plans = {c.name: (list(c.argv), dict(c.env)) for c in supervisor.children}

    def child(self, name: str) -> Child:
        """The part's current process (the latest started under that name)."""
        return next(c for c in reversed(self.supervisor.children) if c.name == name)

    def kill(self, name: str) -> None:
        """kill -9 the part's whole process group (granian's or Celery's workers with it)."""
        process = self.child(name).process
        assert process is not None
        assert process.poll() is None, f"{name} is not running"
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()

    def start(
        self, name: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
    ) -> None:
        """Start the part again with its argv and environment (plus `env`, and behind
        `prefix`, e.g. a `faketime` command); wait for /healthz when it serves HTTP."""
        child = self.child(name)
        assert child.process is not None
        assert child.process.poll() is not None, f"{name} is still running"
        argv, base = self.plans[name]
        started = self.supervisor.start(name, [*prefix, *argv], {**base, **(env or {})})
        if name in self.WEB:
            url = self.stack.crm_url if name == "crm" else self.stack.engagement_url
            assert started.process is not None
            _wait_healthy([url], started.process, self.stack.log, True)

    def restart(
        self, name: str, env: dict[str, str] | None = None, prefix: tuple[str, ...] = ()
    ) -> None:
        """Stop the part (SIGTERM, as Ctrl-C would), then start it again as `start` does."""
        process = self.child(name).process
        assert process is not None
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.start(name, env, prefix)


@contextmanager
def controlled_stack(
    var_dir: Path, extra_env: dict[str, str] | None = None, *, database_role: str | None = None
) -> Iterator[Parts]:
    """What `running_stack` runs (HTTP only, one web worker each), with its parts in the
    test's hands (`Parts`); `tandem up`'s own functions migrate and start them. On
    PostgreSQL, `database_role` (see `postgres_role`) owns the databases and the services log
    in as it."""
    from rich.console import Console

    from tandem.cli import up

    with databases(database_role) as database_env, _redis_broker() as broker_env:
        env = _environment(var_dir, {**database_env, **broker_env}, extra_env)
        layout = up.Stack(
            crm_port=free_port(), engagement_port=free_port(), inbox_port=free_port(), web_workers=1
        )
        children_env = up.stack_env(layout, env)
        log = var_dir / "up.log"
        with log.open("w", encoding="utf-8") as out:
            console = Console(file=out, width=400, color_system=None, soft_wrap=True)
            up.migrate(children_env, console)
            supervisor = Supervisor(console)
            stack = RunningStack(
                crm_url=f"http://127.0.0.1:{layout.crm_port}",
                engagement_url=f"http://127.0.0.1:{layout.engagement_port}",
                inbox_port=layout.inbox_port,
                var_dir=var_dir,
                env=env,
                log=log,
            )
            try:
                up.start_children(supervisor, layout, children_env)
                for name, url in (("crm", stack.crm_url), ("engagement", stack.engagement_url)):
                    process = next(c for c in supervisor.children if c.name == name).process
                    assert process is not None
                    _wait_healthy([url], process, log, True)
                yield Parts(stack, supervisor)
            finally:
                supervisor.stop()


def _stop(process: subprocess.Popen[bytes], log: Path) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise RuntimeError(f"tandem up did not stop on Ctrl-C:\n{log.read_text()}") from None


# Redis databases 1-14 (CI's base URL names 15). A running stack has one of its own; each is
# claimed with a file lock that this test process keeps, so that two test runs sharing one
# Redis never flush each other's queues.
_REDIS_DATABASES = range(1, 15)
_redis_claimed: dict[int, Any] = {}  # database -> its lock file, held until the process exits
_redis_in_use: set[int] = set()


def _claim_redis_database(port: int) -> int:
    for number in _REDIS_DATABASES:
        if number in _redis_claimed:
            if number not in _redis_in_use:
                return number
            continue
        path = Path(tempfile.gettempdir()) / f"tandem-e2e-redis-{port}-{number}.lock"
        lock = path.open("w")  # kept open: the lock lives as long as the file
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            continue
        _redis_claimed[number] = lock
        return number
    raise RuntimeError("every Redis database 1-14 is in use by this or another test run")


@contextmanager
def _redis_broker() -> Iterator[dict[str, str]]:
    """A Redis database of the stack's own while it runs: another stack's worker must not take
    its tasks."""
    url = os.environ.get("TANDEM_BROKER_URL", "")
    if not url.startswith("redis"):
        yield {}  # the default broker is a file in the stack's own var directory
        return
    import redis

    number = _claim_redis_database(urlsplit(url).port or 6379)
    _redis_in_use.add(number)
    try:
        own = urlunsplit(urlsplit(url)._replace(path=f"/{number}"))
        redis.Redis.from_url(own).flushdb()
        yield {"TANDEM_BROKER_URL": own}
    finally:
        _redis_in_use.discard(number)


def on_postgres() -> bool:
    """Whether the suite runs against PostgreSQL (both services' URLs name it)."""
    return all(
        os.environ.get(f"TANDEM_{service}_DATABASE_URL", "").startswith("postgres")
        for service in ("CRM", "ENGAGEMENT")
    )


@contextmanager
def databases(owner: str | None = None) -> Iterator[dict[str, str]]:
    """PostgreSQL databases when the suite runs against PostgreSQL, else nothing (SQLite)."""
    if not on_postgres():
        yield {}
        return
    crm = os.environ["TANDEM_CRM_DATABASE_URL"]
    engagement = os.environ["TANDEM_ENGAGEMENT_DATABASE_URL"]
    with (
        fresh_postgres_database(crm, owner) as crm_url,
        fresh_postgres_database(engagement, owner) as eng_url,
    ):
        yield {"TANDEM_CRM_DATABASE_URL": crm_url, "TANDEM_ENGAGEMENT_DATABASE_URL": eng_url}
