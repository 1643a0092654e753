"""The Connected App policy evaluator: pure functions over small facts, in the order of
docs/reference/oauth-policies.md.

Nothing here touches the database or the clock: callers load the facts, pass `now`, and turn
a `Denial` into the OAuth error pair, the HTTP 400 and the Login History row.
"""

from __future__ import annotations

import calendar
import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from tandem.crm.oauth.errors import (
    APP_ACCESS_DENIED,
    EXPIRED_REFRESH_TOKEN,
    INACTIVE_ORG,
    INACTIVE_USER,
    IP_OR_HOURS,
    NOT_APPROVED,
    OAuthErrorPair,
)


class TokenPath(enum.StrEnum):
    """Every path on which a token (or a code) is issued."""

    AUTHORIZE = "authorize"
    CODE_EXCHANGE = "authorization_code"
    REFRESH = "refresh_token"
    JWT_BEARER = "jwt_bearer"
    PASSWORD = "password"  # noqa: S105


class PermittedUsers(enum.StrEnum):
    """Permitted Users (ECA `permittedUsersPolicyType` values)."""

    ALL_SELF_AUTHORIZED = "AllSelfAuthorized"
    ADMIN_APPROVED = "AdminApprovedPreAuthorized"

    @property
    def label(self) -> str:
        return PERMITTED_USERS_LABELS[self]


class IpRelaxation(enum.StrEnum):
    """IP Relaxation (metadata `ipRelaxation` values)."""

    ENFORCE = "ENFORCE"
    ENFORCE_RELAXREFRESH = "ENFORCE_RELAXREFRESH"
    BYPASS_2FACTOR = "BYPASS_2FACTOR"
    BYPASS = "BYPASS"

    @property
    def label(self) -> str:
        return IP_RELAXATION_LABELS[self]


class RefreshTokenPolicy(enum.StrEnum):
    """Refresh Token Policy (metadata `refreshTokenPolicy` values, without N and unit)."""

    INFINITE = "infinite"
    ZERO = "zero"
    SPECIFIC_INACTIVITY = "specific_inactivity"
    SPECIFIC_LIFETIME = "specific_lifetime"

    @property
    def label(self) -> str:
        return REFRESH_POLICY_LABELS[self]


class ValidityUnit(enum.StrEnum):
    """The unit of N in the two timed refresh token policies."""

    HOURS = "HOURS"
    DAYS = "DAYS"
    MONTHS = "MONTHS"


PERMITTED_USERS_LABELS = {
    PermittedUsers.ALL_SELF_AUTHORIZED: "All users may self-authorize",
    PermittedUsers.ADMIN_APPROVED: "Admin approved users are pre-authorized",
}
IP_RELAXATION_LABELS = {
    IpRelaxation.ENFORCE: "Enforce IP restrictions",
    IpRelaxation.ENFORCE_RELAXREFRESH: "Enforce IP restrictions, but relax for refresh tokens",
    IpRelaxation.BYPASS_2FACTOR: "Relax IP restrictions for activated devices",
    IpRelaxation.BYPASS: "Relax IP restrictions",
}
REFRESH_POLICY_LABELS = {
    RefreshTokenPolicy.INFINITE: "Refresh token is valid until revoked",
    RefreshTokenPolicy.ZERO: "Immediately expire refresh token",
    RefreshTokenPolicy.SPECIFIC_INACTIVITY: "Expire refresh token if not used for",
    RefreshTokenPolicy.SPECIFIC_LIFETIME: "Expire refresh token after",
}
REFRESH_SCOPES = frozenset({"refresh_token", "offline_access"})
WEB_SERVER_PATHS = frozenset({TokenPath.AUTHORIZE, TokenPath.CODE_EXCHANGE})


@dataclass(frozen=True)
class AppPolicy:
    """One org's OAuth policies for one connected app."""

    permitted_users: PermittedUsers = PermittedUsers.ALL_SELF_AUTHORIZED
    ip_relaxation: IpRelaxation = IpRelaxation.ENFORCE
    refresh_token_policy: RefreshTokenPolicy = RefreshTokenPolicy.INFINITE
    refresh_token_validity: int = 0
    refresh_token_unit: ValidityUnit = ValidityUnit.DAYS

    @property
    def refresh_token_policy_value(self) -> str:
        """The metadata spelling, e.g. `specific_inactivity:4:HOURS`."""
        if self.refresh_token_policy in (RefreshTokenPolicy.INFINITE, RefreshTokenPolicy.ZERO):
            return self.refresh_token_policy.value
        return (
            f"{self.refresh_token_policy}:{self.refresh_token_validity}:{self.refresh_token_unit}"
        )


@dataclass(frozen=True)
class SubjectFacts:
    """What the evaluator needs to know about the user at the moment of the request."""

    user_active: bool = True
    user_frozen: bool = False
    org_active: bool = True
    pre_authorized: bool = False  # holds a permission set or profile linked to the app
    has_approval: bool = False  # a durable consent (self-authorize) exists
    within_login_hours: bool = True
    ip_allowed: bool = True  # the profile's login IP ranges admit the client address
    # Loaded only where `app_ip_ranges_apply`: the app has Trusted IP Ranges for OAuth Web
    # Server Flow in the user's org, and whether one of them holds the client address.
    app_has_ip_ranges: bool = False
    ip_in_app_ranges: bool = False


@dataclass(frozen=True)
class RefreshFacts:
    """When the presented refresh token's family began and when it was last used."""

    family_created_at: datetime
    last_used_at: datetime


@dataclass(frozen=True)
class Denial:
    """A refusal: the OAuth error pair and the Login History status."""

    pair: OAuthErrorPair
    login_status: str


# Login History statuses (Salesforce's wording; crm_users.LoginStatus spells the same).
STATUS_INACTIVE = "Failed: User inactive"
STATUS_FROZEN = "Failed: User frozen"
STATUS_ORG_INACTIVE = "Failed: Organization inactive"
STATUS_NOT_APPROVED = "Failed: Not approved for access"
STATUS_LOGIN_HOURS = "Failed: Login hours restricted"
STATUS_IP_RESTRICTED = "Failed: IP restricted"
STATUS_REFRESH_EXPIRED = "Failed: Refresh token expired"


def evaluate(
    *,
    path: TokenPath,
    policy: AppPolicy,
    facts: SubjectFacts,
    now: datetime,
    refresh: RefreshFacts | None = None,
    bearer_always_enforces_ip: bool = False,
) -> Denial | None:
    """The first failing check in the reference's order (after client and credential), or None."""
    for check in (_check_active, _check_permitted_users, _check_login_hours):
        denial = check(path, policy, facts)
        if denial:
            return denial
    if not ip_permitted(path, policy, facts, bearer_always_enforces_ip):
        return Denial(IP_OR_HOURS, STATUS_IP_RESTRICTED)
    if path is TokenPath.REFRESH and (
        refresh is None or not refresh_token_usable(policy, refresh, now)
    ):
        return Denial(EXPIRED_REFRESH_TOKEN, STATUS_REFRESH_EXPIRED)
    return None


def _check_active(path: TokenPath, policy: AppPolicy, facts: SubjectFacts) -> Denial | None:
    if not facts.user_active:
        return Denial(INACTIVE_USER, STATUS_INACTIVE)
    if facts.user_frozen:
        return Denial(INACTIVE_USER, STATUS_FROZEN)
    if not facts.org_active:
        return Denial(INACTIVE_ORG, STATUS_ORG_INACTIVE)
    return None


def _check_permitted_users(
    path: TokenPath, policy: AppPolicy, facts: SubjectFacts
) -> Denial | None:
    if policy.permitted_users is PermittedUsers.ADMIN_APPROVED:
        if not facts.pre_authorized:
            return Denial(APP_ACCESS_DENIED, STATUS_NOT_APPROVED)
        return None
    # Self-authorize: the consent page covers authorize; a code or refresh token is itself the
    # approval; the password flow consents by sending the password; JWT needs an earlier one.
    if path is TokenPath.JWT_BEARER and not facts.has_approval:
        return Denial(NOT_APPROVED, STATUS_NOT_APPROVED)
    return None


def _check_login_hours(path: TokenPath, policy: AppPolicy, facts: SubjectFacts) -> Denial | None:
    # No source says IP relaxation bypasses login hours (docs/reference/oauth-policies.md).
    if not facts.within_login_hours:
        return Denial(IP_OR_HOURS, STATUS_LOGIN_HOURS)
    return None


def ip_permitted(
    path: TokenPath, policy: AppPolicy, facts: SubjectFacts, bearer_always_enforces_ip: bool
) -> bool:
    """The app's own trusted ranges where they apply and exist, else the profile's ranges
    where the relaxation enforces them (docs/reference/oauth-policies.md)."""
    if app_ip_ranges_apply(path, policy.ip_relaxation) and facts.app_has_ip_ranges:
        return facts.ip_in_app_ranges
    return facts.ip_allowed or not ip_check_applies(
        path, policy.ip_relaxation, bearer_always_enforces_ip
    )


def app_ip_ranges_apply(path: TokenPath, relaxation: IpRelaxation) -> bool:
    """Whether the app's own trusted ranges decide: *Relax IP restrictions for activated
    devices* on the web-server flow (authorize and code exchange) only."""
    return relaxation is IpRelaxation.BYPASS_2FACTOR and path in WEB_SERVER_PATHS


def ip_check_applies(
    path: TokenPath, relaxation: IpRelaxation, bearer_always_enforces_ip: bool = False
) -> bool:
    """Whether the profile's login IP ranges are checked on this path under this relaxation."""
    if path is TokenPath.JWT_BEARER and bearer_always_enforces_ip:
        return True
    if relaxation is IpRelaxation.BYPASS:
        return False
    if relaxation is IpRelaxation.ENFORCE_RELAXREFRESH:
        return path is not TokenPath.REFRESH
    if relaxation is IpRelaxation.BYPASS_2FACTOR:
        # Without app ranges the web-server flow counts the CRM login as the device's identity
        # verification (ADR 0402); with them `ip_permitted` never gets here on that flow.
        return path not in WEB_SERVER_PATHS
    return True


def refresh_token_usable(policy: AppPolicy, refresh: RefreshFacts, now: datetime) -> bool:
    """The Refresh Token Policy, checked only when a refresh token is presented."""
    kind = policy.refresh_token_policy
    if kind is RefreshTokenPolicy.ZERO:
        return False
    if kind is RefreshTokenPolicy.INFINITE:
        return True
    start = (
        refresh.last_used_at
        if kind is RefreshTokenPolicy.SPECIFIC_INACTIVITY
        else refresh.family_created_at
    )
    return now < add_validity(start, policy.refresh_token_validity, policy.refresh_token_unit)


def add_validity(start: datetime, amount: int, unit: ValidityUnit) -> datetime:
    """`start` plus N hours, days or calendar months (the day clamped to the month's end)."""
    if unit is ValidityUnit.HOURS:
        return start + timedelta(hours=amount)
    if unit is ValidityUnit.DAYS:
        return start + timedelta(days=amount)
    month_index = start.month - 1 + amount
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return start.replace(year=year, month=month, day=day)


def issues_refresh_token(path: TokenPath, policy: AppPolicy, scopes: list[str]) -> bool:
    """Refresh tokens only from the web-server flow and refresh, when scoped and not `zero`."""
    if path not in (TokenPath.CODE_EXCHANGE, TokenPath.REFRESH):
        return False
    if policy.refresh_token_policy is RefreshTokenPolicy.ZERO:
        return False
    return bool(REFRESH_SCOPES.intersection(scopes))


def parse_refresh_token_policy(value: str) -> tuple[RefreshTokenPolicy, int, ValidityUnit]:
    """Parse `infinite`, `zero` or `specific_inactivity|specific_lifetime:N:UNIT`."""
    parts = value.strip().split(":")
    try:
        kind = RefreshTokenPolicy(parts[0])
    except ValueError:
        raise ValueError(f"unknown refresh token policy {parts[0]!r}") from None
    if kind in (RefreshTokenPolicy.INFINITE, RefreshTokenPolicy.ZERO):
        if len(parts) != 1:
            raise ValueError(f"{kind} takes no N or unit")
        return kind, 0, ValidityUnit.DAYS
    if len(parts) != 3 or not parts[1].isdigit() or not 1 <= int(parts[1]) <= 999:
        raise ValueError(f"{kind} needs N from 1 to 999 and a unit, e.g. {kind}:4:HOURS")
    try:
        unit = ValidityUnit(parts[2].upper())
    except ValueError:
        raise ValueError("the unit must be HOURS, DAYS or MONTHS") from None
    return kind, int(parts[1]), unit
