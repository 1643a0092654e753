"""Connected app reads, scoped to the actor's org."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from tandem.crm.connectedapps.models import (
    ConnectedApp,
    ConnectedAppIpRange,
    ConnectedAppPolicy,
    ConnectedAppUsage,
)
from tandem.crm.orgs.iprange import parse_ip
from tandem.crm.orgs.models import Org
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


def connected_app_policy_find(*, org: Org, ref: str) -> ConnectedAppPolicy | None:
    """The app's row in `org`, the app named by id, consumer key or name; None when the org has
    no such app."""
    apps = ConnectedApp.objects.filter(policies__org=org)
    app = apps.filter(pk=ref).first() or apps.filter(client_id=ref).first()
    app = app or apps.filter(name=ref).first()
    if app is None:
        return None
    return ConnectedAppPolicy.objects.select_related("app", "org").get(app=app, org=org)


def connected_app_show(*, policy: ConnectedAppPolicy) -> dict[str, Any]:
    """The app and its policies in the row's org, as the command line shows them."""
    app = policy.app
    access = policy.access
    return {
        "id": app.pk,
        "name": app.name,
        "consumer_key": app.client_id,
        "callback_urls": app.callback_urls,
        "oauth_scopes": app.scope_list,
        "pkce_required": app.pkce_required,
        "certificate": bool(app.certificate),
        "refresh_token_rotation": app.refresh_token_rotation_enabled,
        "permitted_users": policy.permitted_users,
        "ip_relaxation": policy.ip_relaxation,
        "refresh_token_policy": policy.as_policy().refresh_token_policy_value,
        "session_timeout_minutes": policy.session_timeout_minutes,
        "permission_sets": sorted(
            access.filter(permission_set__isnull=False).values_list(
                "permission_set__api_name", flat=True
            )
        ),
        "profiles": sorted(
            access.filter(profile__isnull=False).values_list("profile__name", flat=True)
        ),
    }
