"""The CRM part of `tandem demo`: seed the demo org, print its logins, write var/demo.json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.console import Console

from tandem.cli.errors import CliError
from tandem.cli.up import Stack, check_ports, stack_env
from tandem.core.paths import PROJECT_ROOT, var_dir


def run_service(service: str, env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run `tandem <service> ARGS` in a child process (`stdin` on its standard input); its
    stdout, or a CliError."""
    argv = [sys.executable, "-m", "tandem", service, *args]
    done = subprocess.run(
        argv,
        env={**env, "TANDEM_SERVICE": service},
        cwd=PROJECT_ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise CliError(f"`tandem {service} {' '.join(args)}` failed:\n{done.stderr.strip()}")
    return done.stdout


def read_demo_json(path: Path) -> dict[str, Any]:
    """demo.json's parts, or nothing when it is missing or unreadable."""
    if not path.exists():
        return {}
    try:
        current = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}
    return current if isinstance(current, dict) else {}


def write_demo_part(path: Path, current: dict[str, Any], key: str, part: dict[str, Any]) -> None:
    """Write `current` with `part` under `key` to demo.json at once (a draft, then a rename)."""
    current[key] = part
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    draft.write_text(json.dumps(current, indent=2) + "\n", encoding="utf-8")
    draft.replace(path)


def write_demo_json(path: Path, crm: dict[str, Any]) -> None:
    """Merge the CRM part into demo.json, keeping other parts and an earlier security token."""
    current = read_demo_json(path)
    earlier = {u.get("username"): u for u in current.get("crm", {}).get("users", [])}
    for user in crm["users"]:
        token = earlier.get(user["username"], {}).get("security_token")
        if "security_token" not in user and token:
            user["security_token"] = token
    write_demo_part(path, current, "crm", crm)


def print_logins(crm: dict[str, Any], console: Console) -> None:
    org = crm["org"]
    console.print(f"\n[bold]CRM demo org[/] {org['name']} ({org['id']})")
    console.print(f"  My Domain login  {org['login_url']}")
    console.print(f"  Generic login    {crm['login_url']}")
    for user in crm["users"]:
        token = f"  (security token {user['security_token']})" if user.get("security_token") else ""
        line = f"  {user['role']:<15} {user['username']:<22} {user['password']}{token}"
        console.print(line, soft_wrap=True, highlight=False)


def prepare_crm_demo(stack: Stack, console: Console) -> Path:
    """Migrate the CRM database, seed the demo org, print logins; returns demo.json's path."""
    check_ports(stack)
    env = stack_env(stack)
    console.print("Preparing the CRM demo org…")
    run_service("crm", env, "migrate", "--noinput", "-v", "0")
    crm = json.loads(run_service("crm", env, "crm_demo", "--json"))
    path = var_dir() / "demo.json"
    write_demo_json(path, crm)
    print_logins(crm, console)
    console.print(f"  (also in {path})\n")
    return path
