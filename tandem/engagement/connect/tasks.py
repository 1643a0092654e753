"""Celery tasks of Connect: thin adapters with stable names."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings

from tandem.engagement.connect.migration import auto_connect_sweep
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.connect.resume import held_sends_resume

SWEEP_SECONDS = 15 * 60


@shared_task(name="engagement.connect.auto_connect_sweep")
def auto_connect_sweep_task(again: bool = True) -> None:
    """Retry pending users, close ended windows, resume held sends; then plan the next sweep."""
    auto_connect_sweep()
    for account_id in CrmConnection.objects.values_list("account_id", flat=True):
        held_sends_resume(account_id=account_id)
    if again and not settings.CELERY_TASK_ALWAYS_EAGER:
        auto_connect_sweep_task.apply_async(kwargs={"again": True}, countdown=SWEEP_SECONDS)


@worker_ready.connect
def _sweep_on_worker_start(**_kwargs: Any) -> None:
    """The periodic retry needs no beat process: each worker start begins the chain."""
    auto_connect_sweep_task.apply_async(kwargs={"again": True}, countdown=60)
