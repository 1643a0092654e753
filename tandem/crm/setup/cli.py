"""Helpers for the CRM management commands: usage errors with exit code 2, org lookup."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tandem.core.ids import is_valid_id, to_18
from tandem.crm.orgs.models import Org

USAGE_ERROR = 2


def usage_error(message: str) -> CommandError:
    """A mistake the user can fix: one line on stderr, exit code 2."""
    return CommandError(message, returncode=USAGE_ERROR)


def field_errors_text(errors: dict[str, list[str]]) -> str:
    """`--field: message` for every violation, one per line."""
    lines = [f"--{field.replace('_', '-')}: {message}" for field, messages in errors.items()
             for message in messages]  # fmt: skip
    return "\n".join(lines)


def org_from_ref(ref: str) -> Org:
    """An org by id (15 or 18 characters), My Domain or exact name."""
    ref = ref.strip()
    candidates = Org.objects.all()
    if len(ref) == 15 and ref.isalnum():
        ref = to_18(ref)
    if is_valid_id(ref, "00D") and (found := candidates.filter(id=ref).first()):
        return found
    if found := candidates.filter(my_domain=ref.lower()).first():
        return found
    named = list(candidates.filter(name=ref)[:2])
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise usage_error(f"more than one org is named {ref!r}: use its id or My Domain")
    raise usage_error(f"no org {ref!r} (give its id, My Domain or name)")


class SubcommandCommand(BaseCommand):
    """A command with subcommands (`tandem crm org create …`), each a `handle_<name>` method."""

    subcommands: dict[str, str] = {}

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="subcommand", required=True, parser_class=type(parser))
        for name, help_text in self.subcommands.items():
            child = sub.add_parser(name, help=help_text, called_from_command_line=True)
            child.add_argument("--json", action="store_true", help="Print the result as JSON.")
            getattr(self, f"arguments_{name}")(child)

    def handle(self, *args: Any, **options: Any) -> None:
        result = getattr(self, f"handle_{options['subcommand']}")(**options)
        if options.get("json"):
            self.stdout.write(json.dumps(result, indent=2))
        else:
            for key, value in result.items():
                shown = ", ".join(value) if isinstance(value, list) else value
                self.stdout.write(f"{key.replace('_', ' ').capitalize()}: {shown}")
