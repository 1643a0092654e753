"""The Engagement part of `tandem demo`: seed the demo account (its users, a sample email and a
sendable data extension), print its logins and Connect's state, write them under "engagement"
in var/demo.json (after the CRM part)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.console import Console

from tandem.cli.demo_crm import read_demo_json, run_service, write_demo_part
from tandem.cli.up import Stack, stack_env

INTEGRATION = "Email Studio → Admin → Salesforce Integration"


def _marketing_usernames(crm: dict[str, Any]) -> list[str]:
    return [u["username"] for u in crm.get("users", []) if u.get("role") == "marketing_user"]


def _system_user(crm: dict[str, Any]) -> dict[str, Any]:
    return next((u for u in crm.get("users", []) if u.get("role") == "system_user"), {})


def print_logins(engagement: dict[str, Any], console: Console) -> None:
    account = engagement["account"]
    console.print(f"[bold]Engagement demo account[/] {account['name']} ({account['id']})")
    console.print(f"  Login            {engagement['login_url']}")
    for user in engagement["users"]:
        crm = f"  (CRM user {user['crm_username']})" if user.get("crm_username") else ""
        line = f"  {user['role']:<15} {user['username']:<22} {user['password']}{crm}"
        console.print(line, soft_wrap=True, highlight=False)


def print_connection(engagement: dict[str, Any], crm: dict[str, Any], console: Console) -> None:
    connection = engagement.get("connection")
    if connection is None:
        system = _system_user(crm).get("username", "")
        console.print(
            f"  Connect          not connected yet: once the CRM answers, the demo "
            f"connects it (legacy authentication, system user {system})",
            soft_wrap=True,
            highlight=False,
        )
        return
    console.print(
        f"  Connect          {connection['state']}, org {connection['org_id']}, system "
        f"user {connection['system_username']} ({INTEGRATION})",
        soft_wrap=True,
        highlight=False,
    )


def prepare_engagement_demo(stack: Stack, console: Console, path: Path) -> dict[str, Any]:
    """Migrate the Engagement database, seed the demo account, print its logins, merge it into
    demo.json at `path` (which already holds the CRM part); returns the Engagement part."""
    env = stack_env(stack)
    console.print("Preparing the Engagement demo account…")
    run_service("engagement", env, "migrate", "--noinput", "-v", "0")
    current = read_demo_json(path)
    crm = current.get("crm", {})
    users = [arg for name in _marketing_usernames(crm) for arg in ("--crm-user", name)]
    engagement = json.loads(run_service("engagement", env, "engagement_demo", "--json", *users))
    write_demo_part(path, current, "engagement", engagement)
    print_logins(engagement, console)
    print_connection(engagement, crm, console)
    console.print(f"  (also in {path})\n")
    return engagement
