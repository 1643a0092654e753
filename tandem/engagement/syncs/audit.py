"""The account's audit trail for changes to synchronized data sources (who, what, old, new)."""

from __future__ import annotations

from typing import Any

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.accounts.services import audit_record
from tandem.engagement.syncs.models import SyncSource


def sync_audit(
    account: Account, actor: User | None, action: str, target: str, old: Any, new: Any
) -> None:
    """One audit row; `actor` None is the system (a command run without a user)."""
    audit_record(account=account, actor=actor, action=action, target=target, old=old, new=new)


def settings_of(source: SyncSource) -> dict[str, Any]:
    """What setup chooses: the fields and the schedule."""
    return {"fields": list(source.fields), "schedule": source.schedule}
