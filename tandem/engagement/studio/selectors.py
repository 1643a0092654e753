"""Reads of emails, scoped to the actor's account."""

from __future__ import annotations

from django.db.models import QuerySet

from tandem.engagement.accounts.models import User
from tandem.engagement.studio.models import Email


def email_list(*, actor: User) -> QuerySet[Email]:
    """The emails of the actor's account, by name."""
    return Email.objects.filter(account=actor.account).order_by("name", "id")


def email_get_for_actor(*, actor: User, email_id: int) -> Email | None:
    """One email of the actor's account, or None."""
    return email_list(actor=actor).filter(pk=email_id).first()
