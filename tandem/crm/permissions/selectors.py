"""Permission set reads, scoped to the actor's org."""

from __future__ import annotations

from django.db.models import Count, QuerySet
from django.http import Http404

from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
from tandem.crm.users.models import Profile, User


def permission_set_list(*, actor: User) -> QuerySet[PermissionSet]:
    """The org's permission sets, with how many users hold each."""
    return PermissionSet.objects.filter(org_id=actor.org_id).annotate(
        assigned_count=Count("assignments")
    )


def permission_set_get_for_actor(*, actor: User, id: str) -> PermissionSet:
    """The permission set `id` of the actor's org; 404 for any other."""
    found = PermissionSet.objects.filter(org_id=actor.org_id, id=id).first()
    if found is None:
        raise Http404("No such permission set.")
    return found


def permission_set_assignment_list(
    *, actor: User, permission_set: PermissionSet
) -> QuerySet[PermissionSetAssignment]:
    """Who holds the set."""
    return PermissionSetAssignment.objects.filter(
        permission_set=permission_set, permission_set__org_id=actor.org_id
    ).select_related("user", "user__profile")


def permission_set_assignable_users(
    *, actor: User, permission_set: PermissionSet
) -> QuerySet[User]:
    """Active users of the org who do not hold the set yet."""
    return (
        User.objects.filter(org_id=actor.org_id, is_active=True)
        .exclude(permission_set_assignments__permission_set=permission_set)
        .select_related("profile")
    )


def user_may_bulk_hard_delete(*, user: User) -> bool:
    """Bulk API Hard Delete: granted by the user's profile or by a permission set they hold."""
    if Profile.objects.filter(pk=user.profile_id, bulk_api_hard_delete=True).exists():
        return True
    return PermissionSetAssignment.objects.filter(
        user=user, permission_set__bulk_api_hard_delete=True
    ).exists()


def user_permission_set_ids(*, user: User) -> set[str]:
    """Ids of the permission sets the user holds (for connected-app pre-authorization)."""
    return set(
        PermissionSetAssignment.objects.filter(user=user).values_list(
            "permission_set_id", flat=True
        )
    )
