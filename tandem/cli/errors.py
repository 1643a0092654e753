"""How the CLI reports a user's mistake: one line on stderr and exit code 2."""

from __future__ import annotations

from typing import NoReturn

import typer
from rich.console import Console

stderr = Console(stderr=True, highlight=False)

USAGE_ERROR = 2


class CliError(Exception):
    """A problem the user can fix; shown without a traceback."""


def fail(message: str) -> NoReturn:
    """Print `message` as an error and exit with code 2."""
    stderr.print(f"[bold red]tandem: error:[/] {message}", soft_wrap=True)
    raise typer.Exit(USAGE_ERROR)
