"""Setup Audit Trail: every change an administrator makes in Setup."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from tandem.core import ids
from tandem.core.audit import AuditEventBase
from tandem.crm.orgs.models import Org


class SetupAuditTrail(AuditEventBase):
    """One Setup change in one org (who, when, what, old value, new value)."""

    id = models.CharField(
        primary_key=True, max_length=18, default=ids.new_setup_audit_trail_id, editable=False
    )
    org = models.ForeignKey(Org, on_delete=models.CASCADE, related_name="setup_audit_trail")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta(AuditEventBase.Meta):
        verbose_name = "Setup Audit Trail entry"
        verbose_name_plural = "Setup Audit Trail"
        indexes = [models.Index(fields=("org", "-occurred_at"), name="crm_setup_audit_org_time")]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"
