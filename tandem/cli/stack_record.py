"""Where the local stack's services listen, for commands run beside it from another shell.

`tandem up` (and `tandem demo`, which runs it) gives its children TANDEM_CRM_URL and
TANDEM_ENGAGEMENT_URL for the ports it was started on, and records them in var/stack.json.
A command started by hand has neither variable: without this record, the URLs it prints (a
new user's login URL, an org's instance URL) would name the default ports, not the running
stack's."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tandem.core.paths import var_dir

STACK_FILE = "stack.json"
DEMO_FILE = "demo.json"
URLS = {"TANDEM_CRM_URL": "crm_url", "TANDEM_ENGAGEMENT_URL": "engagement_url"}


def stack_record(env: Mapping[str, str], directory: Path | None = None) -> None:
    """Record the URLs the stack's children were given (a draft, then a rename)."""
    path = (directory or var_dir()) / STACK_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}")
    record = {key: env[name] for name, key in URLS.items() if env.get(name)}
    draft.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    draft.replace(path)


def stack_urls_env_setdefault(directory: Path | None = None) -> None:
    """For a command run by hand: the running stack's URLs where the environment names none
    (an explicit TANDEM_CRM_URL always wins). The record `tandem up` wrote, else the demo's
    var/demo.json (written by the demo's CRM part)."""
    root = directory or var_dir()
    record = _read(root / STACK_FILE)
    demo = _read(root / DEMO_FILE)
    fallback = {
        "crm_url": _part_url(demo, "crm"),
        "engagement_url": _part_url(demo, "engagement"),
    }
    for name, key in URLS.items():
        url = record.get(key) or fallback[key]
        if isinstance(url, str) and url.startswith(("http://", "https://")):
            os.environ.setdefault(name, url)


def _part_url(demo: dict[str, Any], part: str) -> object:
    section = demo.get(part)
    return section.get("url") if isinstance(section, dict) else None


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
