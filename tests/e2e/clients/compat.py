"""The compatibility record: which client operation passed on which database in the last run.

`$TANDEM_VAR_DIR/clients-compat.json` maps database → client → operation → result. A run adds
to what earlier runs wrote (CI runs the suite on SQLite, then on PostgreSQL), so the file holds
the latest result of each operation on each database.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest


def compat_path() -> Path:
    return Path(os.environ.get("TANDEM_VAR_DIR", "var")) / "clients-compat.json"


def database_name() -> str:
    """The database the stack runs on, as the CI passes name it."""
    url = os.environ.get("TANDEM_CRM_DATABASE_URL", "")
    return "PostgreSQL" if url.startswith("postgres") else "SQLite"


def load() -> dict[str, Any]:
    path = compat_path()
    return json.loads(path.read_text()) if path.exists() else {}


def _reason(call: pytest.CallInfo[None]) -> str:
    if call.excinfo is None:
        return ""
    lines = [line.strip() for line in str(call.excinfo.value).strip().splitlines()]
    return f"{call.excinfo.typename}: {' '.join(lines[:3])}"[:400]  # with `where …` lines


def record_outcome(
    client: str, operation: str, *, passed: bool, item: pytest.Item, call: pytest.CallInfo[None]
) -> None:
    """Write one test's outcome into the record (read-modify-write: one pytest process)."""
    data = load()
    clients = data.setdefault(database_name(), {})
    clients.setdefault(client, {})[operation] = {
        "passed": passed,
        "test": item.nodeid,
        "line": item.location[1] or 0,
        "reason": _reason(call),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = compat_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
