"""What every `tandem` command shares: its options, how it prints data and how it reports a
mistake (one line on stderr, exit code 2), for the Typer tree and for `tandem crm <command>`
alike (a Django management command there is a shim over the same Typer app)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import typer
import typer.main

# Typer vendors its own Click: its exceptions, not the click package's, reach us.
from typer._click.exceptions import ClickException, NoArgsIsHelpError

from tandem.cli.errors import USAGE_ERROR, CliError

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]
OrgOption = Annotated[
    str, typer.Option("--org", help="The CRM org: its id (15 or 18 characters), My Domain or name.")
]
AccountOption = Annotated[
    str, typer.Option("--account", help="The Engagement account: its id or name.")
]


def typer_app(help_text: str) -> typer.Typer:
    """A group of subcommands in the house style: help without arguments, no completion; a
    group even with one command, so `tandem crm org create` keeps its subcommand's name."""
    app = typer.Typer(help=help_text, no_args_is_help=True, add_completion=False)
    app.callback()(_group)
    return app


def _group() -> None:
    """(A group of subcommands.)"""


def emit(data: Mapping[str, Any], as_json: bool) -> None:
    """JSON with --json; otherwise one `Key: value` line per field (lists joined by commas,
    nested values as compact JSON)."""
    if as_json:
        typer.echo(json.dumps(data, indent=2, default=str))
        return
    for key, value in data.items():
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            shown = ", ".join(value)
        elif isinstance(value, list | dict):
            shown = json.dumps(value, default=str)
        else:
            shown = "" if value is None else str(value)
        typer.echo(f"{key.replace('_', ' ').capitalize()}: {shown}")


def field_errors_text(errors: Mapping[str, Sequence[str]]) -> str:
    """`--field: message` for every violation, on one line."""
    return "; ".join(
        f"--{field.replace('_', '-')}: {message}"
        for field, messages in errors.items()
        for message in messages
    )


def run_app(app: typer.Typer, args: Sequence[str], prog: str) -> int:
    """Run `app` on `args` and return its exit code; a usage mistake or a `CliError` is printed
    as one line, `tandem: error: …`, with exit code 2."""
    command = typer.main.get_command(app)
    try:
        code = command.main(list(args), prog_name=prog, standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()  # a group called bare: its help, as standalone Click would
        return USAGE_ERROR
    except ClickException as exc:
        return error_line(exc.format_message())
    except CliError as exc:
        return error_line(str(exc))
    except typer.Abort:
        return error_line("aborted")
    return code if isinstance(code, int) else 0


def error_line(message: str) -> int:
    """Print `message` as the one error line; the exit code for it."""
    typer.echo(f"tandem: error: {' '.join(message.split())}", err=True)
    return USAGE_ERROR


def emit_or_say(data: Mapping[str, Any], as_json: bool, sentence: str) -> None:
    """JSON with --json; otherwise the sentence a person reads."""
    if as_json:
        emit(data, as_json=True)
    else:
        typer.echo(sentence)
