"""The CRM side of the demo's rehearsals of the upgrade: the departed user, and a reset.

`tandem demo` connects the Engagement account under legacy authentication once the stack is up;
the departed user is active while Connect logs in as them, then made inactive. `tandem demo
--reset` undoes the CRM admin's steps 12-23 (and the consent of step 8) so that the procedure
can be rehearsed again. Each change goes through the Setup services, so it is audited.
"""

from __future__ import annotations

from django.db import transaction

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppPolicy
from tandem.crm.connectedapps.services import (
    MARKETING_CLOUD_KEY,
    connected_app_access_revoke,
    connected_app_permission_sets_set,
    connected_app_policy_set,
    connected_app_profiles_set,
)
from tandem.crm.oauth.policy import IpRelaxation, PermittedUsers, RefreshTokenPolicy
from tandem.crm.orgs.models import Org
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.permissions.services import permission_set_unassign
from tandem.crm.setup.demo import DEMO_MY_DOMAIN, DEPARTED
from tandem.crm.setup.services import setup_audit_record
from tandem.crm.users.models import User
from tandem.crm.users.services import user_update

# The permission set the procedure creates (step 21), also when a rehearsal stopped before
# linking it to the app (step 23).
REHEARSAL_PERMISSION_SET = "Marketing_Cloud_Connected_App"
PERMISSION_SET_SECTION = "Manage Users"  # as permission_set.created


def _org() -> Org:
    return Org.objects.get(my_domain=DEMO_MY_DOMAIN)


def _admin(org: Org) -> User:
    return User.objects.get(org=org, username="admin@acme.demo")


@transaction.atomic
def demo_departed_set(*, active: bool) -> bool:
    """Make the departed user active (Connect is about to log in as them) or inactive (they
    left the company); returns whether anything changed."""
    user = User.objects.get(username=DEPARTED)
    if user.is_active == active:
        return False
    user_update(
        actor=_admin(user.org), user=user, profile=user.profile, flags={"is_active": active}
    )
    return True


@transaction.atomic
def demo_upgrade_reset() -> dict[str, object]:
    """Undo steps 8 and 12-23 in the demo org: the app's policies back to their defaults, no
    permission set or profile linked to it, every user's approval and tokens revoked, and the
    permission sets created for it deleted. What was undone is returned."""
    org = _org()
    admin = _admin(org)
    app = ConnectedApp.objects.filter(deployment_key=MARKETING_CLOUD_KEY).first()
    policy = ConnectedAppPolicy.objects.filter(app=app, org=org).first() if app else None
    linked: list[PermissionSet] = []
    revoked = 0
    if app is not None and policy is not None:
        linked_ids = policy.access.exclude(permission_set=None).values("permission_set_id")
        linked = list(PermissionSet.objects.filter(pk__in=linked_ids))
        connected_app_permission_sets_set(actor=admin, policy=policy, permission_sets=[])
        connected_app_profiles_set(actor=admin, policy=policy, profiles=[])
        connected_app_policy_set(
            actor=admin,
            policy=policy,
            permitted_users=PermittedUsers.ALL_SELF_AUTHORIZED,
            ip_relaxation=IpRelaxation.ENFORCE,
            refresh_token_policy=RefreshTokenPolicy.INFINITE,
        )
        for user in User.objects.filter(org=org):
            revoked += connected_app_access_revoke(actor=admin, app=app, user=user)
    rehearsed = PermissionSet.objects.filter(org=org, api_name__iexact=REHEARSAL_PERMISSION_SET)
    chosen = {ps.pk: ps for ps in [*linked, *rehearsed]}
    deleted = sorted(_permission_set_delete(admin, ps) for ps in chosen.values())
    return {"permission_sets_deleted": deleted, "tokens_revoked": revoked}


def _permission_set_delete(admin: User, permission_set: PermissionSet) -> str:
    users = User.objects.filter(permission_set_assignments__permission_set=permission_set)
    permission_set_unassign(actor=admin, permission_set=permission_set, users=list(users))
    label, api_name = permission_set.label, permission_set.api_name
    permission_set.delete()
    setup_audit_record(
        org=admin.org,
        actor=admin,
        action="permission_set.deleted",
        section=PERMISSION_SET_SECTION,
        target=label,
        old={"api_name": api_name},
        new=None,
    )
    return api_name
