"""`tandem demo` as a real process for the end-to-end tests: started on free ports with its own
var directory (and databases), ready once it has connected the demo account."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack, running_stack
from tests.e2e.waiting import wait_for

# The variables `tandem up` gives its children for Connect: a command run beside the demo must
# do without them (it reads var/connect), as on a developer's shell.
CONNECT_VARIABLES = (
    "TANDEM_MC_CONSUMER_KEY",
    "TANDEM_CONNECT_PRIVATE_KEY_FILE",
    "TANDEM_MC_CALLBACK_URL",
    "TANDEM_MC_CERTIFICATE_FILE",
)


def demo_json(stack: RunningStack) -> dict[str, Any]:
    path = stack.var_dir / "demo.json"
    return json.loads(path.read_text()) if path.exists() else {}  # type: ignore[no-any-return]


@contextmanager
def running_demo(var_dir: Path) -> Iterator[RunningStack]:
    """`tandem demo` until the block ends; yielded once the account is connected (legacy)."""
    with running_stack(var_dir, command="demo") as stack:
        wait_for(lambda: demo_json(stack).get("engagement", {}).get("connection"), timeout=180)
        yield stack


def ports(stack: RunningStack) -> list[str]:
    return [
        "--crm-port",
        str(urlsplit(stack.crm_url).port),
        "--engagement-port",
        str(urlsplit(stack.engagement_url).port),
        "--inbox-port",
        str(stack.inbox_port),
    ]


def tandem(
    stack: RunningStack, *args: str, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """`tandem ARGS` from a shell beside the running demo (no Connect variables set)."""
    env = {k: v for k, v in stack.env.items() if k not in CONNECT_VARIABLES}
    return subprocess.run(
        [sys.executable, "-m", "tandem", *args],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
