"""The shape of an audit row; each service keeps its own concrete table."""

from __future__ import annotations

from django.db import models


class AuditEventBase(models.Model):
    """Who did what, when, with the old and new values (an append-only row)."""

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor_label = models.CharField(max_length=255, help_text="The acting user as shown then.")
    action = models.CharField(max_length=80, help_text="Dotted event name, e.g. user.created.")
    section = models.CharField(max_length=80, blank=True)
    target = models.CharField(max_length=255, blank=True)
    old_value = models.JSONField(null=True, blank=True)
    new_value = models.JSONField(null=True, blank=True)

    class Meta:
        abstract = True
        ordering = ("-occurred_at", "-id")
