"""The Engagement part of `tandem demo`: seed the demo account, print its logins and Connect's
next step, write them under "engagement" in var/demo.json (after the CRM part)."""

from __future__ import annotations

import json
import shlex
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


def legacy_connect_step(engagement: dict[str, Any], crm: dict[str, Any]) -> list[str]:
    """What the user does, once the stack runs, to connect the account (legacy authentication)."""
    admin, system = engagement["users"][0], _system_user(crm)
    token = system.get("security_token")
    token_text = token or (
        "none kept: Setup → Users → the system user → Reset Security Token in the CRM"
    )
    command = ["tandem", "connect", "connect-legacy", "--account", engagement["account"]["name"],
               "--admin", admin["username"], "--login-url", crm["url"],
               "--username", system.get("username", ""), "--password", system.get("password", ""),
               "--security-token", token or "TOKEN"]  # fmt: skip
    return [
        "Next: connect the account to the CRM (legacy authentication). Connect logs in to the",
        f"running CRM, so once everything is up: log in to the Engagement as {admin['username']},",
        f"open {INTEGRATION}; under Connect Account (legacy authentication) fill in",
        f"  CRM login URL            {crm['url']}",
        f"  System user's username   {system.get('username', '')}",
        f"  Password                 {system.get('password', '')}",
        f"  Security token           {token_text}",
        "and press Connect. Or: .venv/bin/" + shlex.join(command),
    ]


def print_connection(engagement: dict[str, Any], crm: dict[str, Any], console: Console) -> None:
    connection = engagement.get("connection")
    if connection is None:
        for line in legacy_connect_step(engagement, crm):
            console.print(line, soft_wrap=True, highlight=False)
        return
    console.print(f"  Connect          {connection['state']}, org {connection['org_id']}, system "
                  f"user {connection['system_username']} ({INTEGRATION})",
                  soft_wrap=True, highlight=False)  # fmt: skip


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
    if engagement.get("connection") is None:
        engagement["next_step"] = legacy_connect_step(engagement, crm)
    write_demo_part(path, current, "engagement", engagement)
    print_logins(engagement, console)
    print_connection(engagement, crm, console)
    console.print(f"  (also in {path})\n")
    return engagement
