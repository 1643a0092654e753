"""Load the facts the policy evaluator needs, run it, and record a refusal in Login History."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db.models import Q

from tandem.crm.connectedapps.models import (
    ConnectedApp,
    ConnectedAppAccess,
    ConnectedAppConsent,
    ConnectedAppPolicy,
)
from tandem.crm.oauth.policy import (
    AppPolicy,
    Denial,
    PermittedUsers,
    RefreshFacts,
    SubjectFacts,
    TokenPath,
    evaluate,
    ip_check_applies,
)
from tandem.crm.users.models import LoginType, User
from tandem.crm.users.policies import user_ip_allowed, user_within_login_hours
from tandem.crm.users.services import login_history_record


@dataclass(frozen=True)
class PolicyContext:
    """The app's policy row in the user's org (None until the app is first used there)."""

    row: ConnectedAppPolicy | None
    policy: AppPolicy


def policy_context(*, app: ConnectedApp, org_id: str) -> PolicyContext:
    """Read on every request, so a changed policy applies to the next token at once."""
    row = ConnectedAppPolicy.objects.filter(app=app, org_id=org_id).first()
    return PolicyContext(row=row, policy=row.as_policy() if row else AppPolicy())


def user_pre_authorized(*, row: ConnectedAppPolicy | None, user: User) -> bool:
    """The user's profile, or a permission set assigned to them, is linked to the app."""
    if row is None:
        return False
    return (
        ConnectedAppAccess.objects.filter(policy=row)
        .filter(Q(profile_id=user.profile_id) | Q(permission_set__assignments__user=user))
        .exists()
    )


def user_has_approved(*, app: ConnectedApp, user: User) -> bool:
    """A durable approval (Allow on the consent page) exists."""
    return ConnectedAppConsent.objects.filter(app=app, user=user).exists()


def subject_facts(
    *,
    app: ConnectedApp,
    user: User,
    context: PolicyContext,
    path: TokenPath,
    ip: str,
    now: datetime,
) -> SubjectFacts:
    """Only the facts this policy and path consult are loaded (each is one query)."""
    admin_approved = context.policy.permitted_users is PermittedUsers.ADMIN_APPROVED
    checks_ip = ip_check_applies(
        path, context.policy.ip_relaxation, settings.OAUTH_BEARER_ALWAYS_ENFORCES_IP
    )
    return SubjectFacts(
        user_active=user.is_active,
        user_frozen=user.is_frozen,
        org_active=user.org.is_active,
        pre_authorized=admin_approved and user_pre_authorized(row=context.row, user=user),
        has_approval=(
            not admin_approved
            and path is TokenPath.JWT_BEARER
            and user_has_approved(app=app, user=user)
        ),
        within_login_hours=user_within_login_hours(user=user, at=now),
        ip_allowed=(not checks_ip) or user_ip_allowed(user=user, ip=ip),
    )


def policy_check(
    *,
    app: ConnectedApp,
    user: User,
    path: TokenPath,
    ip: str,
    now: datetime,
    refresh: RefreshFacts | None = None,
) -> tuple[PolicyContext, Denial | None]:
    """Evaluate every Connected App policy for this request; a refusal is recorded."""
    context = policy_context(app=app, org_id=user.org_id)
    facts = subject_facts(app=app, user=user, context=context, path=path, ip=ip, now=now)
    denial = evaluate(
        path=path,
        policy=context.policy,
        facts=facts,
        now=now,
        refresh=refresh,
        bearer_always_enforces_ip=settings.OAUTH_BEARER_ALWAYS_ENFORCES_IP,
    )
    if denial is not None:
        login_record(app=app, user=user, ip=ip, status=denial.login_status, at=now)
    return context, denial


def login_record(*, app: ConnectedApp, user: User, ip: str, status: str, at: datetime) -> None:
    """One Login History row for an OAuth login attempt."""
    login_history_record(
        org=user.org,
        user=user,
        username=user.username,
        source_ip=ip or None,
        login_type=LoginType.REMOTE_ACCESS,
        application=app.name or app.client_id,
        status=status,
        at=at,
    )
