"""Celery tasks of synchronized data sources: a run, and the minute check that queues due runs."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from tandem.engagement.connect.periodic import chain_begin, chain_is_live
from tandem.engagement.syncs.run import source_run
from tandem.engagement.syncs.selectors import sources_due

CHAIN = "sync_due_check"
CHECK_SECONDS = 60


@shared_task(name="engagement.syncs.source_run")
def source_run_task(source_id: int) -> str:
    """One run of a source; does nothing while another run holds it or Connect is paused."""
    return source_run(source_id=source_id).outcome


@shared_task(name="engagement.syncs.due_check")
def due_check_task(again: bool = False, chain: str = "") -> int:
    """Every minute: queue a run of each due source (a source paused by an outage or the
    upgrade stays due, so it catches up as soon as Connect is back)."""
    if not chain_is_live(CHAIN, chain):
        return 0
    due = sources_due()
    for source_id in due:
        source_run_task.delay(source_id)
    if again:
        due_check_task.apply_async(kwargs={"again": True, "chain": chain}, countdown=CHECK_SECONDS)
    return len(due)


@worker_ready.connect
def _check_on_worker_start(**_kwargs: Any) -> None:
    chain = chain_begin(CHAIN)
    due_check_task.apply_async(kwargs={"again": True, "chain": chain}, countdown=5)
