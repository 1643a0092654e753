"""Write the Setup Audit Trail."""

from __future__ import annotations

from typing import Any

from tandem.crm.orgs.models import Org
from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import User

SYSTEM_ACTOR_LABEL = "Tandem command line"


def setup_audit_record(
    *,
    org: Org,
    actor: User | None,
    action: str,
    section: str,
    target: str,
    old: Any = None,
    new: Any = None,
) -> SetupAuditTrail:
    """Append one Setup change; `actor` None means the command line or the system."""
    return SetupAuditTrail.objects.create(
        org=org,
        actor=actor,
        actor_label=actor.username if actor is not None else SYSTEM_ACTOR_LABEL,
        action=action,
        section=section,
        target=target[:255],
        old_value=old,
        new_value=new,
    )
