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
from tandem.crm.connectedapps.selectors import connected_app_ip_range_pairs
from tandem.crm.oauth.loaders import policy_row_for_user
from tandem.crm.oauth.policy import (
    AppPolicy,
    Denial,
    PermittedUsers,
    RefreshFacts,
    SubjectFacts,
    TokenPath,
    app_ip_ranges_apply,
    evaluate,
    ip_check_applies,
)
from tandem.crm.orgs.iprange import ip_in_any_range
from tandem.crm.users.models import (
    LoginHistory,
    LoginType,
    User,
)
from tandem.crm.users.policies import user_ip_allowed, user_within_login_hours
from tandem.crm.users.services import login_history_row


@dataclass(frozen=True)
class PolicyContext:
    """The app's policy row in the user's org (None until the app is first used there)."""

    row: ConnectedAppPolicy | None
    policy: AppPolicy


def policy_context(*, app: ConnectedApp, org_id: str, user: User | None = None) -> PolicyContext:
    """Read on every request, so a changed policy applies to the next token at once; with a
    user, whether they are pre-authorized comes in the same query."""
    if user is None:
        row = ConnectedAppPolicy.objects.filter(app=app, org_id=org_id).first()
    else:
        row = policy_row_for_user(app_id=app.pk, org_id=org_id, user=user)
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
    pre_authorized = getattr(context.row, "user_pre_authorized", None)
    if pre_authorized is None and admin_approved:
        pre_authorized = user_pre_authorized(row=context.row, user=user)
    app_ranges = (
        connected_app_ip_range_pairs(app_id=app.pk, org_id=user.org_id)
        if app_ip_ranges_apply(path, context.policy.ip_relaxation)
        else []
    )
    # The app's own ranges replace the profile's, so those are then not read at all.
    checks_ip = not app_ranges and ip_check_applies(
        path, context.policy.ip_relaxation, settings.OAUTH_BEARER_ALWAYS_ENFORCES_IP
    )
    return SubjectFacts(
        user_active=user.is_active,
        user_frozen=user.is_frozen,
        org_active=user.org.is_active,
        pre_authorized=bool(admin_approved and pre_authorized),
        has_approval=(
            not admin_approved
            and path is TokenPath.JWT_BEARER
            and user_has_approved(app=app, user=user)
        ),
        within_login_hours=(
            not getattr(user, "has_login_hours", True) or user_within_login_hours(user=user, at=now)
        ),
        ip_allowed=(
            not checks_ip
            or not getattr(user, "has_login_ip_ranges", True)
            or user_ip_allowed(user=user, ip=ip)
        ),
        app_has_ip_ranges=bool(app_ranges),
        ip_in_app_ranges=bool(app_ranges) and ip_in_any_range(ip, app_ranges),
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
    context = policy_context(app=app, org_id=user.org_id, user=user)
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


def refresh_token_live(
    *, app: ConnectedApp, user: User, refresh: RefreshFacts, now: datetime
) -> bool:
    """Whether a refresh with this token would pass the Connected App policies now, wherever it
    came from (introspection): the user may log in, the app still permits them, and the
    Refresh Token Policy keeps the token valid. The address and the login hours belong to a
    refresh request, not to the token, so they are not consulted; nothing is recorded."""
    context = policy_context(app=app, org_id=user.org_id, user=user)
    admin_approved = context.policy.permitted_users is PermittedUsers.ADMIN_APPROVED
    facts = SubjectFacts(
        user_active=user.is_active,
        user_frozen=user.is_frozen,
        org_active=user.org.is_active,
        pre_authorized=admin_approved and bool(getattr(context.row, "user_pre_authorized", False)),
    )
    denial = evaluate(
        path=TokenPath.REFRESH, policy=context.policy, facts=facts, now=now, refresh=refresh
    )
    return denial is None


def login_record(*, app: ConnectedApp, user: User, ip: str, status: str, at: datetime) -> None:
    """One Login History row for an OAuth login attempt."""
    login_row(app=app, user=user, ip=ip, status=status, at=at).save(force_insert=True)


def login_row(*, app: ConnectedApp, user: User, ip: str, status: str, at: datetime) -> LoginHistory:
    """The Login History row of an OAuth login attempt, not yet saved."""
    return login_history_row(
        org=user.org,
        user=user,
        username=user.username,
        source_ip=ip or None,
        login_type=LoginType.REMOTE_ACCESS,
        application=app.name or app.client_id,
        status=status,
        at=at,
    )
