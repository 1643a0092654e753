"""Synchronized data sources: a CRM object copied into a read-only data extension."""

from __future__ import annotations

from django.db import models

from tandem.engagement.accounts.models import Account
from tandem.engagement.data.models import DataExtension


class Schedule(models.TextChoices):
    EVERY_15_MINUTES = "15m", "Every 15 minutes"
    HOURLY = "1h", "Every hour"
    DAILY = "1d", "Every day"
    MANUAL = "manual", "Manual"


SCHEDULE_SECONDS = {"15m": 15 * 60, "1h": 60 * 60, "1d": 24 * 60 * 60}


class SyncState(models.TextChoices):
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"  # by the account (pause/resume)


class RunOutcome(models.TextChoices):
    NEVER = "", "Never run"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    WAITING = "waiting", "Waiting for Connect (outage or upgrade)"
    FAILED = "failed", "Failed"


class SyncSource(models.Model):
    """One CRM object of an account, its chosen fields, its schedule and its progress.

    `high_water` is the greatest SystemModstamp applied, committed with each page's rows, so a
    run that dies resumes from it; `deleted_high_water` is the same for deleted records."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sync_sources")
    object_name = models.CharField(max_length=80)
    fields = models.JSONField(default=list, help_text="CRM field names copied (Id always).")
    schedule = models.CharField(
        max_length=10, choices=Schedule.choices, default=Schedule.EVERY_15_MINUTES
    )
    state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.ACTIVE)
    data_extension = models.OneToOneField(
        DataExtension, on_delete=models.PROTECT, related_name="sync_source"
    )
    high_water = models.DateTimeField(null=True, blank=True)
    deleted_high_water = models.DateTimeField(null=True, blank=True)
    # A copy of every record in progress: the last Id committed, and the newest SystemModstamp
    # from before it began (the mark it leaves).
    copy_after_id = models.CharField(max_length=18, blank=True)
    copy_floor = models.DateTimeField(null=True, blank=True)
    # Fields added since the last full copy: the next run reads every record once more.
    backfill = models.BooleanField(default=False)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    # The lease: one run at a time; a run renews it per page, a dead run's lease lapses.
    lease_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(
        max_length=10, choices=RunOutcome.choices, default=RunOutcome.NEVER, blank=True
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    rows_added = models.PositiveIntegerField(default=0)
    rows_updated = models.PositiveIntegerField(default=0)
    rows_deleted = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    # Backoff of a failing source: the runs that failed in a row (the CRM unreachable, a 5xx,
    # refused credentials), and the earliest time the scheduler runs it again. A success
    # resets both; a run started by hand ignores them.
    consecutive_failures = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("object_name",)
        constraints = [
            models.UniqueConstraint(
                fields=["account", "object_name"], name="sync_source_one_per_object"
            )
        ]

    def __str__(self) -> str:
        return f"{self.object_name}_Salesforce"

    @property
    def de_name(self) -> str:
        return f"{self.object_name}_Salesforce"


class FilteredDataExtension(models.Model):
    """A saved filter over a synchronized data extension, evaluated when a send begins.

    `conditions` is a list of {"field", "op", "value"}; every condition must hold (AND)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=200)
    source = models.ForeignKey(SyncSource, on_delete=models.CASCADE, related_name="filters")
    conditions = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name",)
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="filtered_de_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
