"""API usage per minute, and the query locators behind nextRecordsUrl."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core.ids import new_id


def new_query_locator_id() -> str:
    return new_id("01g")


class ApiUsage(models.Model):
    """Calls in one minute by one user through one connected app, counted or exempt.

    One row per (minute, user, app, counted) bucket, incremented in place: the rolling 24-hour
    total is a sum over at most 1,440 buckets per user and app.
    """

    org = models.ForeignKey("crm_orgs.Org", on_delete=models.CASCADE, related_name="+")
    minute = models.DateTimeField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    connected_app_id = models.CharField(max_length=40, blank=True, default="")
    connected_app_name = models.CharField(max_length=255, blank=True, default="")
    counts_against_limit = models.BooleanField()
    calls = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["org", "minute", "user", "connected_app_id", "counts_against_limit"],
                name="api_usage_bucket",
            )
        ]
        indexes = [models.Index(fields=["org", "minute"])]

    def __str__(self) -> str:
        return f"{self.minute:%Y-%m-%d %H:%M} {self.calls}"


class QueryLocator(models.Model):
    """A query's remaining batches: what `nextRecordsUrl` points at, for 15 minutes."""

    id = models.CharField(
        primary_key=True, max_length=18, default=new_query_locator_id, editable=False
    )
    org = models.ForeignKey("crm_orgs.Org", on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    soql = models.TextField()
    include_deleted = models.BooleanField(default=False)
    batch_size = models.PositiveIntegerField()
    total_size = models.PositiveIntegerField()
    expires_at = models.DateTimeField(db_index=True)
    # The key of the last record of the batch ending at cursor_position: the next batch then
    # starts by key, not by OFFSET.
    cursor_position = models.PositiveIntegerField(default=0)
    cursor_pk = models.CharField(max_length=18, blank=True, default="")

    def __str__(self) -> str:
        return self.id
