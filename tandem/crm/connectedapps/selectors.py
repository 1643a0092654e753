"""Connected app reads, scoped to the actor's org."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from tandem.crm.connectedapps.models import (
    ConnectedAppIpRange,
    ConnectedAppPolicy,
    ConnectedAppUsage,
)
from tandem.crm.orgs.iprange import parse_ip
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


def connected_app_ip_range_list(*, policy: ConnectedAppPolicy) -> QuerySet[ConnectedAppIpRange]:
    """The app's Trusted IP Ranges for OAuth Web Server Flow in the policy's org."""
    return ConnectedAppIpRange.objects.filter(app_id=policy.app_id, org_id=policy.org_id)


def connected_app_ip_range_get(*, policy: ConnectedAppPolicy, id: int) -> ConnectedAppIpRange:
    """One of those ranges; 404 for any other."""
    found = connected_app_ip_range_list(policy=policy).filter(id=id).first()
    if found is None:
        raise Http404("No such IP range.")
    return found


def connected_app_ip_range_find(
    *, policy: ConnectedAppPolicy, start_address: str, end_address: str
) -> ConnectedAppIpRange | None:
    """The range with these ends in any spelling (compared as addresses), or None."""
    wanted = (parse_ip(start_address), parse_ip(end_address))
    if None in wanted:
        return None
    for row in connected_app_ip_range_list(policy=policy):
        if (parse_ip(str(row.start_address)), parse_ip(str(row.end_address))) == wanted:
            return row
    return None


def connected_app_ip_range_pairs(*, app_id: str, org_id: str) -> list[tuple[str, str]]:
    """(start, end) of the app's trusted ranges in the org: one query, for the token paths."""
    rows = ConnectedAppIpRange.objects.filter(app_id=app_id, org_id=org_id).order_by()
    return [
        (str(start), str(end)) for start, end in rows.values_list("start_address", "end_address")
    ]


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
