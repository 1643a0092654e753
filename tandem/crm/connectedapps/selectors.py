"""Connected app reads, scoped to the actor's org."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from tandem.crm.connectedapps.models import ConnectedAppPolicy, ConnectedAppUsage
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.users.models import Profile, User


def connected_app_policy_list(*, actor: User) -> QuerySet[ConnectedAppPolicy]:
    """The org's Connected Apps list: its own apps and those its users have authorized."""
    return ConnectedAppPolicy.objects.filter(org_id=actor.org_id).select_related("app")


def connected_app_policy_get_for_actor(*, actor: User, app_id: str) -> ConnectedAppPolicy:
    """The app's row in the actor's org; 404 for an app the org has not got."""
    row = (
        ConnectedAppPolicy.objects.select_related("app", "org")
        .filter(org_id=actor.org_id, app_id=app_id)
        .first()
    )
    if row is None:
        raise Http404("No such connected app.")
    return row


def linked_permission_set_ids(*, policy: ConnectedAppPolicy) -> set[str]:
    return set(
        policy.access.filter(permission_set__isnull=False).values_list(
            "permission_set_id", flat=True
        )
    )


def linked_profile_ids(*, policy: ConnectedAppPolicy) -> set[str]:
    return set(policy.access.filter(profile__isnull=False).values_list("profile_id", flat=True))


def org_permission_sets(*, actor: User) -> QuerySet[PermissionSet]:
    return PermissionSet.objects.filter(org_id=actor.org_id)


def org_profiles(*, actor: User) -> QuerySet[Profile]:
    return Profile.objects.filter(org_id=actor.org_id)


def connected_app_usage_list(*, actor: User) -> QuerySet[ConnectedAppUsage]:
    """Connected Apps OAuth Usage: who holds tokens for which app, in the actor's org."""
    return ConnectedAppUsage.objects.filter(org_id=actor.org_id).select_related("app", "user")


def my_connected_apps(*, user: User) -> QuerySet[ConnectedAppUsage]:
    """The apps a user has approved or used."""
    return ConnectedAppUsage.objects.filter(user=user).select_related("app")
