"""The last part of `tandem demo`, once the stack answers: connect the demo account to the CRM
under legacy authentication (the system user and five previously connected users, each with
their own password and security token), then make the departed user inactive, as happens in an
org between the day Connect learnt its users and the upgrade. `tandem demo --reset` does the
same after undoing an upgrade, for another rehearsal."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rich.console import Console

from tandem.cli.demo_crm import read_demo_json, run_service, write_demo_json, write_demo_part
from tandem.cli.errors import CliError
from tandem.cli.up import Stack, connect_env, stack_env

INTEGRATION = "Email Studio → Admin → Salesforce Integration"
CONNECTION_KEYS = ("state", "org_id", "system_username")


def demo_stack(stack: Stack, demo: dict[str, Any], given: set[str]) -> Stack:
    """The running demo that demo.json describes: `--reset` and `--script` reach it on the ports
    it was started on, unless other ports are given on the command line (`given`)."""

    def saved_port(part: str, option: str, default: int) -> int:
        url = demo.get(part, {}).get("url") if isinstance(demo.get(part), dict) else None
        port = urlsplit(url).port if isinstance(url, str) else None
        return default if option in given or not port else port

    return dataclasses.replace(
        stack,
        crm_port=saved_port("crm", "crm_port", stack.crm_port),
        engagement_port=saved_port("engagement", "engagement_port", stack.engagement_port),
    )


def _keeps_token(user: dict[str, Any]) -> bool:
    return user.get("role") == "system_user" or bool(user.get("connected"))


def _tokens_ensured(env: dict[str, str], path: Path, crm: dict[str, Any]) -> dict[str, Any]:
    """Security tokens are shown once; a user whose token demo.json lost gets a new one."""
    lost = [u["username"] for u in crm["users"] if _keeps_token(u) and not u.get("security_token")]
    if not lost:
        return crm
    reissue = [arg for name in lost for arg in ("--reissue-token", name)]
    again = json.loads(run_service("crm", env, "crm_demo", "--json", *reissue))
    write_demo_json(path, again)
    return read_demo_json(path)["crm"]


def _login(user: dict[str, Any], engagement_username: str = "") -> dict[str, str]:
    return {
        "crm_username": user["username"],
        "password": user["password"],
        "security_token": user["security_token"],
        "engagement_username": engagement_username,
    }


def legacy_logins(crm: dict[str, Any], engagement: dict[str, Any]) -> dict[str, Any]:
    """What Connect is given: the CRM login URL, the system user's and each user's credentials."""
    system = next(u for u in crm["users"] if u.get("role") == "system_user")
    by_crm = {u["crm_username"]: u["username"] for u in engagement["users"] if u["crm_username"]}
    users = [_login(u, by_crm[u["username"]]) for u in crm["users"] if u.get("connected")]
    return {"login_url": crm["url"], "system": _login(system), "users": users}


def demo_legacy_connect(stack: Stack, path: Path, console: Console, *, reset: bool = False) -> None:
    """Connect the demo account (legacy) unless it is connected already (then nothing changes);
    with `reset`, the CRM side of an upgrade is undone and the account connected afresh."""
    current = read_demo_json(path)
    engagement = current.get("engagement", {})
    if not reset and engagement.get("connection"):
        print_connection(engagement["connection"], console)
        return
    env = stack_env(stack)
    engagement_env = {**env, **connect_env(env)[1]}
    crm = _tokens_ensured(env, path, current["crm"])
    run_service(
        "crm",
        env,
        "crm_demo",
        "--json",
        "--departed",
        "active",
        *(["--reset-upgrade"] if reset else []),
    )
    logins = json.dumps(legacy_logins(crm, engagement))
    connected = json.loads(
        run_service(
            "engagement",
            engagement_env,
            "engagement_demo_connect",
            *(["--reset"] if reset else []),
            stdin=logins,
        )
    )
    run_service("crm", env, "crm_demo", "--json", "--departed", "inactive")
    engagement = read_demo_json(path).get("engagement", {})
    # As `tandem engagement engagement_demo` describes it, so that a second run changes nothing.
    engagement["connection"] = {key: connected[key] for key in CONNECTION_KEYS}
    engagement.pop("next_step", None)
    write_demo_part(path, read_demo_json(path), "engagement", engagement)
    print_connection(connected, console)


def print_connection(connection: dict[str, Any], console: Console) -> None:
    users = connection.get("users")
    counted = f", {len(users)} connected users" if users is not None else ""
    console.print(
        f"[bold]Connect[/] Acme Marketing ↔ org {connection['org_id']}: {connection['state']}, "
        f"system user {connection['system_username']}{counted} ({INTEGRATION}).",
        soft_wrap=True,
        highlight=False,
    )


def demo_connect_step(stack: Stack, path: Path, console: Console) -> None:
    """The step `tandem demo` runs once the stack is healthy; a failure is told, not fatal."""
    try:
        demo_legacy_connect(stack, path, console)
    except CliError as exc:
        console.print(f"[red]Connecting the demo account failed:[/] {exc}", soft_wrap=True)
