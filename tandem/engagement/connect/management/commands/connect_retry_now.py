"""`tandem engagement connect_retry_now`: queue Connect's periodic retry for the worker now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from config.celery import app as celery_app

SWEEP_TASK = "engagement.connect.auto_connect_sweep"  # tandem.engagement.connect.tasks


class Command(BaseCommand):
    help = (
        "Queue the periodic retry of Connect (users awaiting auto-connection within the 14-day "
        "window, ended windows, held sends) for the worker to run now, once, besides its "
        "15-minute schedule."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = celery_app.send_task(SWEEP_TASK, kwargs={"again": False, "chain": ""})
        self.stdout.write(f"Queued {SWEEP_TASK} ({result.id}).")
