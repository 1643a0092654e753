"""Run Django management commands for one service."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
from collections.abc import Sequence
from typing import Any

import typer
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.cli.stack_record import stack_urls_env_setdefault
from tandem.cli.style import run_app

SERVICES = ("crm", "engagement")


def use_service(service: str) -> None:
    """Point this process's Django settings at `service`, and at the running stack's URLs
    when the environment names none (tandem/cli/stack_record.py)."""
    os.environ["TANDEM_SERVICE"] = service
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    stack_urls_env_setdefault()


def manage(service: str, args: Sequence[str]) -> None:
    """Run `manage.py ARGS` for `service` in this process."""
    use_service(service)
    from django.core.management import execute_from_command_line

    execute_from_command_line([f"tandem {service}", *args])


def typer_command(app: typer.Typer, name: str, help_text: str) -> type[BaseCommand]:
    """A Django management command that runs the Typer `app`: `tandem crm org …` and
    `call_command("org", …)` reach the one implementation, in the house style."""

    class Command(BaseCommand):
        help = help_text

        def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
            # call_command parses its arguments first: hand every one through untouched.
            parser = CommandParser(
                prog=f"{os.path.basename(prog_name)} {subcommand}",
                add_help=False,
                called_from_command_line=False,
            )
            parser.add_argument("args", nargs=argparse.REMAINDER)
            return parser

        def run_from_argv(self, argv: list[str]) -> None:
            code = run_app(app, argv[2:], prog=f"{os.path.basename(argv[0])} {argv[1]}")
            if code:
                sys.exit(code)

        def execute(self, *args: Any, **options: Any) -> None:
            out, err = options.get("stdout") or sys.stdout, io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = run_app(app, args, prog=f"tandem {name}")
            if code:
                message = err.getvalue().strip().removeprefix("tandem: error:").strip()
                raise CommandError(message, returncode=code)

    return Command
