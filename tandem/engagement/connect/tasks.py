"""Celery tasks of Connect: thin adapters with stable names."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from celery.signals import worker_ready

from tandem.engagement.connect.audiences import audience_materialize
from tandem.engagement.connect.periodic import chain_begin, chain_is_live
from tandem.engagement.connect.resume import (
    RESUME_TASK,
    held_sends_resume,
    held_sends_resume_all,
)
from tandem.engagement.connect.services.migration import (
    MIGRATE_TASK,
    auto_connect_sweep,
    migration_execute,
)
from tandem.engagement.connect.services.tracking import tracking_catch_up_all
from tandem.engagement.connect.writeback import recent_results_write, send_results_write

SWEEP, TRACKING, RESUME = "auto_connect_sweep", "tracking_writeback", "held_resume"  # chains
RESULTS = "results_write"
SWEEP_SECONDS = 15 * 60
RESUME_SECONDS = 60  # held sends start within a minute of Connect being available again
TRACKING_SECONDS = 60 * 60  # Connect writes tracking back hourly (docs/reference/connect.md)
RESULTS_POLL_SECONDS = 5  # results reach the CRM within seconds of the send's end


@shared_task(name="engagement.connect.auto_connect_sweep")
def auto_connect_sweep_task(again: bool = False, chain: str = "") -> bool:
    """Retry pending users, close ended windows, resume held sends; then plan the next sweep.
    False, doing nothing, when `chain` was retired by a newer worker start."""
    if not chain_is_live(SWEEP, chain):
        return False
    auto_connect_sweep()
    held_sends_resume_all()
    if again:
        auto_connect_sweep_task.apply_async(
            kwargs={"again": True, "chain": chain}, countdown=SWEEP_SECONDS
        )
    return True


@shared_task(name=MIGRATE_TASK)
def migrate_users_task(run_id: int) -> int | None:
    """Carry out a Migrate Existing Users run (or the rest of one whose worker died)."""
    run = migration_execute(run_id=run_id)
    return run.pk if run is not None else None


@shared_task(name=RESUME_TASK)
def held_sends_resume_task(account_id: int) -> int:
    """Planned for the end of an outage: start the account's held sends if Connect is back."""
    return held_sends_resume(account_id=account_id)


@shared_task(name="engagement.connect.held_resume_check")
def held_resume_check_task(again: bool = False, chain: str = "") -> bool:
    """Every minute: held sends of accounts whose Connect is available again start.
    False, doing nothing, when `chain` was retired by a newer worker start."""
    if not chain_is_live(RESUME, chain):
        return False
    held_sends_resume_all()
    if again:
        held_resume_check_task.apply_async(
            kwargs={"again": True, "chain": chain}, countdown=RESUME_SECONDS
        )
    return True


@shared_task(name="engagement.connect.audience_materialize")
def audience_materialize_task(send_id: int) -> None:
    """Read a send's CRM audience into a data extension, then begin the send (its results
    are written by the results check once it ends)."""
    audience_materialize(send_id=send_id)


@shared_task(name="engagement.connect.results_write_check")
def results_write_check_task(again: bool = False, chain: str = "") -> bool:
    """Every few seconds: write the IndividualEmailResults of CRM-audience sends that ended
    within the last hour (older ones are the hourly tracking task's); then plan the next check.
    One chain for all sends, so no task waits on a send of its own.
    False, doing nothing, when `chain` was retired by a newer worker start."""
    if not chain_is_live(RESULTS, chain):
        return False
    try:
        recent_results_write()
    finally:  # an unexpected error (the database gone a moment) must not end the chain
        if again:
            results_write_check_task.apply_async(
                kwargs={"again": True, "chain": chain}, countdown=RESULTS_POLL_SECONDS
            )
    return True


@shared_task(name="engagement.connect.send_results_write")
def send_results_write_task(send_id: int, polls_left: int = 0) -> None:
    """Write one send's IndividualEmailResults if it has ended; never plans another try (the
    results check does). `polls_left` is accepted, unused, for messages queued by releases
    that polled per send."""
    send_results_write(send_id=send_id)


@shared_task(name="engagement.connect.tracking_writeback")
def tracking_writeback_task(again: bool = False, chain: str = "") -> bool:
    """Catch up results, write changed tracking back, purge expired audiences; plan the next.
    False, doing nothing, when `chain` was retired by a newer worker start."""
    if not chain_is_live(TRACKING, chain):
        return False
    tracking_catch_up_all()
    if again:
        tracking_writeback_task.apply_async(
            kwargs={"again": True, "chain": chain}, countdown=TRACKING_SECONDS
        )
    return True


@worker_ready.connect
def periodic_chains_begin(**_kwargs: Any) -> None:
    """The periodic tasks need no beat process: each worker start begins their chains and
    retires the previous ones, so restarts never multiply them."""
    sweep, tracking, resume = chain_begin(SWEEP), chain_begin(TRACKING), chain_begin(RESUME)
    results = chain_begin(RESULTS)
    auto_connect_sweep_task.apply_async(kwargs={"again": True, "chain": sweep}, countdown=60)
    held_resume_check_task.apply_async(
        kwargs={"again": True, "chain": resume}, countdown=RESUME_SECONDS
    )
    tracking_writeback_task.apply_async(kwargs={"again": True, "chain": tracking}, countdown=120)
    results_write_check_task.apply_async(
        kwargs={"again": True, "chain": results}, countdown=RESULTS_POLL_SECONDS
    )
