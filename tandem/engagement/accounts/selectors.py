"""Reads about accounts, users and the audit trail, scoped to one account."""

from __future__ import annotations

from django.db.models import QuerySet

from tandem.engagement.accounts.models import Account, AuditEvent, User


def audit_event_list(*, account: Account, limit: int = 200) -> QuerySet[AuditEvent]:
    """The newest audit rows of one account."""
    return AuditEvent.objects.filter(account=account).order_by("-occurred_at", "-id")[:limit]


def user_list(*, account: Account) -> QuerySet[User]:
    """The users of one account, by username."""
    return User.objects.filter(account=account).order_by("username")


def user_get_for_actor(*, actor: User, user_id: int) -> User | None:
    """A user of the actor's own account, or None."""
    return User.objects.filter(account=actor.account, pk=user_id).first()
