"""Run Django management commands for one service."""

from __future__ import annotations

import os
from collections.abc import Sequence

SERVICES = ("crm", "engagement")


def use_service(service: str) -> None:
    """Point this process's Django settings at `service`."""
    os.environ["TANDEM_SERVICE"] = service
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"


def manage(service: str, args: Sequence[str]) -> None:
    """Run `manage.py ARGS` for `service` in this process."""
    use_service(service)
    from django.core.management import execute_from_command_line

    execute_from_command_line([f"tandem {service}", *args])
