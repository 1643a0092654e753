"""Read the Setup Audit Trail of the actor's org."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import User


def setup_audit_list(
    *, actor: User, query: str = "", section: str = "", user: str = ""
) -> QuerySet[SetupAuditTrail]:
    """The org's Setup changes, newest first, optionally filtered."""
    rows = SetupAuditTrail.objects.filter(org_id=actor.org_id).select_related("actor")
    if query:
        rows = rows.filter(
            Q(action__icontains=query) | Q(target__icontains=query) | Q(section__icontains=query)
        )
    if section:
        rows = rows.filter(section=section)
    if user:
        rows = rows.filter(actor_label__icontains=user)
    return rows.order_by("-occurred_at", "-id")


def setup_audit_sections(*, actor: User) -> list[str]:
    """The sections that have entries in the org, for the filter."""
    rows = SetupAuditTrail.objects.filter(org_id=actor.org_id)
    return sorted(set(rows.values_list("section", flat=True)))
