"""Run the Node clients (jsforce, the sf CLI) from tests/e2e/clients/node_modules."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

CLIENTS_DIR = Path(__file__).resolve().parent
SF = CLIENTS_DIR / "node_modules" / ".bin" / "sf"
# Each client command is given this long (they take seconds; sf makes no call outside the
# stack, see sf_env): a hang fails the test instead of stalling the suite.
TIMEOUT = 90


def _base_env(home: Path, ca_file: Path | None) -> dict[str, str]:
    """A clean environment: PATH (the clients' bin first: sf runs `sf`), a HOME of the test's
    own, and the local CA when given."""
    path = os.pathsep.join([str(SF.parent), os.environ.get("PATH", "/usr/bin:/bin")])
    env = {"PATH": path, "HOME": str(home), "LANG": "C.UTF-8"}
    if ca_file is not None:
        env["NODE_EXTRA_CA_CERTS"] = str(ca_file)  # the one client-side step for HTTPS
    return env


def run_jsforce(operation: str, config: dict[str, Any], home: Path) -> Any:
    """`node jsforce_ops.mjs <operation>`; its JSON result, or AssertionError with its stderr."""
    done = subprocess.run(
        ["node", "jsforce_ops.mjs", operation],
        env={**_base_env(home, None), "CLIENT_CONFIG": json.dumps(config)},
        cwd=CLIENTS_DIR,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, f"jsforce {done.stderr.strip()[:3000]}"  # names the operation
    return json.loads(done.stdout)


def sf_env(home: Path, ca_file: Path | None) -> dict[str, str]:
    """sf with its state under `home` (never the user's ~/.sf) and nothing that phones out:
    no telemetry, no update or plugin checks, the file keychain instead of the system one."""
    return {
        **_base_env(home, ca_file),
        "SF_USE_GENERIC_UNIX_KEYCHAIN": "true",
        "SF_DISABLE_TELEMETRY": "true",
        "SF_AUTOUPDATE_DISABLE": "true",
        "SF_SKIP_NEW_VERSION_CHECK": "true",
        "SF_HIDE_RELEASE_NOTES": "true",
        "SF_HIDE_RELEASE_NOTES_FOOTER": "true",
        "SF_LOG_LEVEL": "warn",
    }


def run_sf(
    args: list[str], home: Path, ca_file: Path | None, extra_env: dict[str, str] | None = None
) -> dict[str, Any]:
    """`sf <args> --json`: its JSON answer (status 0), or AssertionError naming what sf said."""
    try:
        done = subprocess.run(
            [str(SF), *args, "--json"],
            env={**sf_env(home, ca_file), **(extra_env or {})},
            cwd=home,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        # sf retries resolving an instance_url that does not resolve for 4 minutes.
        raise AssertionError(f"sf {' '.join(args[:3])}: no answer in {TIMEOUT} s") from None
    try:
        answer = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise AssertionError(f"sf {args[:3]} printed no JSON: {done.stdout}{done.stderr}") from None
    failure = f"sf {' '.join(args[:3])}: {answer.get('name')}: {answer.get('message')}"
    assert done.returncode == 0, failure
    assert answer.get("status") == 0, failure
    return dict(answer)
