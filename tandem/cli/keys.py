"""`tandem keys`: make keys and rotate each service's key rings (docs/security.md)."""

from __future__ import annotations

import subprocess
import sys
from typing import Annotated

import typer

from tandem.cli.style import JsonOption, emit_or_say, error_line
from tandem.core.keys import new_key
from tandem.core.paths import PROJECT_ROOT

app = typer.Typer(help="Keys per service and purpose: make one, rotate them.", no_args_is_help=True)


@app.command("new")
def new(as_json: JsonOption = False) -> None:
    """Print a fresh key (32 random bytes, URL-safe base64) for a TANDEM_*_KEYS variable.

    Example: tandem keys new
    """
    key = new_key()
    emit_or_say({"key": key}, as_json, key)


ServiceOption = Annotated[
    str | None,
    typer.Option("--service", help="crm or engagement (default: both).", show_default=False),
]
ResumeOption = Annotated[
    bool, typer.Option("--resume", help="Add no key: finish re-encrypting under the newest.")
]


@app.command("rotate")
def rotate(service: ServiceOption = None, resume: ResumeOption = False) -> None:
    """Add a newest key to every key ring, then re-encrypt what is stored (resumable).

    Example: tandem keys rotate --service crm
    """
    if service not in (None, "crm", "engagement"):
        raise typer.Exit(error_line(f"--service must be crm or engagement, not {service!r}"))
    for chosen in [service] if service else ["crm", "engagement"]:
        argv = [sys.executable, "-m", "tandem", chosen, "keys_rotate"]
        code = subprocess.run(
            [*argv, *(["--resume"] if resume else [])], cwd=PROJECT_ROOT, check=False
        ).returncode
        if code != 0:
            raise typer.Exit(code)
