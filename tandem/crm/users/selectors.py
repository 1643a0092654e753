"""User, profile, session and Login History reads, scoped to the actor's org."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404

from tandem.crm.users.models import LoginHistory, Profile, User, UserSession


def user_list(*, actor: User) -> QuerySet[User]:
    """The org's users."""
    return User.objects.filter(org_id=actor.org_id).select_related("profile")


def user_get_for_actor(*, actor: User, id: str) -> User:
    """The user `id` of the actor's org; 404 for any other."""
    found = user_list(actor=actor).filter(id=id).first()
    if found is None:
        raise Http404("No such user.")
    return found


def profile_list(*, actor: User) -> QuerySet[Profile]:
    """The org's profiles with their user counts."""
    return Profile.objects.filter(org_id=actor.org_id).annotate(user_count=Count("users"))


def profile_get_for_actor(*, actor: User, id: str) -> Profile:
    """The profile `id` of the actor's org; 404 for any other."""
    found = Profile.objects.filter(org_id=actor.org_id, id=id).first()
    if found is None:
        raise Http404("No such profile.")
    return found


def login_history_list(*, actor: User, username: str = "") -> QuerySet[LoginHistory]:
    """The org's login attempts, newest first."""
    rows = LoginHistory.objects.filter(org_id=actor.org_id)
    if username:
        rows = rows.filter(username__icontains=username)
    return rows.order_by("-login_time", "-id")


def user_session_list(*, actor: User, user: User) -> QuerySet[UserSession]:
    """Open sessions of a user of the actor's org."""
    return UserSession.objects.filter(user=user, user__org_id=actor.org_id)


def user_session_get_for_actor(*, actor: User, id: int) -> UserSession:
    """The session `id` of a user of the actor's org; 404 for any other."""
    found = UserSession.objects.filter(id=id, user__org_id=actor.org_id).select_related(
        "user", "user__org"
    )
    session = found.first()
    if session is None:
        raise Http404("No such session.")
    return session
