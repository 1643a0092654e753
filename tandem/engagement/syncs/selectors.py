"""Reads of synchronized data sources."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q, QuerySet
from django.utils import timezone

from tandem.engagement.syncs.models import SCHEDULE_SECONDS, Schedule, SyncSource, SyncState


def sources_of(account_id: int) -> QuerySet[SyncSource]:
    return SyncSource.objects.filter(account_id=account_id).select_related("data_extension")


def source_get(account_id: int, object_name: str) -> SyncSource | None:
    return sources_of(account_id).filter(object_name__iexact=object_name.strip()).first()


def sources_due() -> list[int]:
    """Active scheduled sources whose interval has passed (or that never ran), not leased,
    and not backing off after failed runs."""
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    ready = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    candidates = SyncSource.objects.filter(free, ready, state=SyncState.ACTIVE).exclude(
        schedule=Schedule.MANUAL
    )
    due = []
    for pk, schedule, last in candidates.values_list("pk", "schedule", "last_success_at"):
        if last is None or last + timedelta(seconds=SCHEDULE_SECONDS[schedule]) <= now:
            due.append(pk)
    return due


def sources_paused_by_connect(account_id: int) -> QuerySet[SyncSource]:
    """Sources that run on a schedule: an outage or the upgrade pauses them."""
    return sources_of(account_id).filter(state=SyncState.ACTIVE).exclude(schedule=Schedule.MANUAL)


def outcome_shown(source: SyncSource) -> str:
    """The last run's outcome; a run whose lease lapsed was interrupted (its process died) and
    the next run resumes it."""
    lapsed = source.lease_until is None or source.lease_until < timezone.now()
    if source.outcome == "running" and lapsed:
        return "interrupted"
    return source.outcome or "never"


def source_row(source: SyncSource) -> dict[str, object]:
    """A source as the CLI's --json and the pages show it."""
    return {
        "object": source.object_name,
        "data_extension": source.de_name,
        "fields": source.fields,
        "schedule": source.schedule,
        "state": source.state,
        "outcome": outcome_shown(source),
        "last_run_at": source.last_run_at.isoformat() if source.last_run_at else None,
        "last_success_at": source.last_success_at.isoformat() if source.last_success_at else None,
        "high_water": source.high_water.isoformat() if source.high_water else None,
        "rows": source.data_extension.rows.count(),
        "rows_added": source.rows_added,
        "rows_updated": source.rows_updated,
        "rows_deleted": source.rows_deleted,
        "last_error": source.last_error,
        "consecutive_failures": source.consecutive_failures,
        "next_attempt_at": backoff_until(source),
    }


def backoff_until(source: SyncSource) -> str | None:
    """When the scheduler runs a failing source again (None when it is not backing off)."""
    waiting = source.next_attempt_at is not None and source.next_attempt_at > timezone.now()
    return source.next_attempt_at.isoformat() if waiting and source.next_attempt_at else None
