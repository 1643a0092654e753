"""`tandem <service> keys_rotate`: the per-service half of `tandem keys rotate`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.module_loading import import_string

from tandem.core.keys import KeyConfigError
from tandem.core.keys_rotation import rotate


class Command(BaseCommand):
    help = "Add a newest key to each of this service's key rings and re-encrypt what is stored."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--resume",
            action="store_true",
            help="Add no key: only re-encrypt what the newest key does not protect yet.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        columns = import_string(settings.KEY_ROTATION_COLUMNS[settings.SERVICE])()
        try:
            results = rotate(
                settings.SERVICE,
                Path(settings.VAR_DIR),
                columns,
                add_keys=not options["resume"],
                progress=self.stdout.write,
            )
        except KeyConfigError as exc:
            raise CommandError(str(exc), returncode=2) from None
        unreadable = 0
        for result in results:
            self.stdout.write(
                f"{result.label}: {result.rewritten} re-encrypted of {result.total}"
                f" ({result.unreadable} unreadable, {result.changed_meanwhile} changed meanwhile)"
            )
            unreadable += result.unreadable
        if unreadable:
            raise CommandError(
                f"{unreadable} stored value(s) no key can read: they were left as they are",
                returncode=2,
            )
