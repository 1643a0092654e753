"""Shared by the connected-app tests: `tandem crm connectedapp …` run in-process."""

from __future__ import annotations

import io
import json
from typing import Any

from django.core.management import call_command


def run_connectedapp(*args: str) -> Any:
    """`tandem crm connectedapp ARGS --json` through Django's command; its JSON result."""
    out = io.StringIO()
    call_command("connectedapp", *args, "--json", stdout=out)
    return json.loads(out.getvalue())
