"""`tandem engagement connect_retry_now`: queue Connect's periodic retry for the worker now."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from celery.exceptions import TimeoutError as CeleryTimeoutError
from django.core.management.base import BaseCommand, CommandError

from config.celery import app as celery_app

SWEEP_TASK = "engagement.connect.auto_connect_sweep"  # tandem.engagement.connect.tasks
USAGE_ERROR = 2


class Command(BaseCommand):
    help = (
        "Queue the periodic retry of Connect (users awaiting auto-connection within the 14-day "
        "window, ended windows, held sends) for the worker to run now, once, besides its "
        "15-minute schedule."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--wait",
            type=float,
            default=0,
            metavar="SECONDS",
            help="Wait up to SECONDS for the worker to finish it.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = celery_app.send_task(SWEEP_TASK, kwargs={"again": False, "chain": ""})
        self.stdout.write(f"Queued {SWEEP_TASK} ({result.id}).")
        if options["wait"] <= 0:
            return
        try:
            result.get(timeout=options["wait"])
        except CeleryTimeoutError as exc:
            raise CommandError(
                f"the worker did not finish the retry in {options['wait']:g} s (is it running?)",
                returncode=USAGE_ERROR,
            ) from exc
        self.stdout.write("The worker finished it.")
