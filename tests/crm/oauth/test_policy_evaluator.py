"""The pure policy evaluator over the whole matrix: Permitted Users x IP Relaxation x Refresh
Token Policy x token path, with a frozen clock (the `now` argument)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tandem.crm.oauth import errors
from tandem.crm.oauth.policy import (
    AppPolicy,
    IpRelaxation,
    PermittedUsers,
    RefreshFacts,
    RefreshTokenPolicy,
    SubjectFacts,
    TokenPath,
    ValidityUnit,
    add_validity,
    evaluate,
    issues_refresh_token,
    parse_refresh_token_policy,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
FRESH = RefreshFacts(
    family_created_at=NOW - timedelta(hours=1), last_used_at=NOW - timedelta(hours=1)
)
STALE = RefreshFacts(
    family_created_at=NOW - timedelta(days=40), last_used_at=NOW - timedelta(days=3)
)

# The IP Relaxation table (docs/reference/oauth-policies.md + ADR 0402): on which paths the
# profile's IP ranges apply.
IP_CHECKED = {
    IpRelaxation.ENFORCE: set(TokenPath),
    IpRelaxation.ENFORCE_RELAXREFRESH: set(TokenPath) - {TokenPath.REFRESH},
    IpRelaxation.BYPASS_2FACTOR: {TokenPath.REFRESH, TokenPath.JWT_BEARER, TokenPath.PASSWORD},
    IpRelaxation.BYPASS: set(),
}
REFRESH_POLICIES = [
    AppPolicy(refresh_token_policy=RefreshTokenPolicy.INFINITE),
    AppPolicy(refresh_token_policy=RefreshTokenPolicy.ZERO),
    AppPolicy(
        refresh_token_policy=RefreshTokenPolicy.SPECIFIC_INACTIVITY,
        refresh_token_validity=2,
        refresh_token_unit=ValidityUnit.DAYS,
    ),
    AppPolicy(
        refresh_token_policy=RefreshTokenPolicy.SPECIFIC_LIFETIME,
        refresh_token_validity=1,
        refresh_token_unit=ValidityUnit.MONTHS,
    ),
]
# (policy kind) -> usable with FRESH, usable with STALE
REFRESH_USABLE = {
    RefreshTokenPolicy.INFINITE: (True, True),
    RefreshTokenPolicy.ZERO: (False, False),
    RefreshTokenPolicy.SPECIFIC_INACTIVITY: (True, False),
    RefreshTokenPolicy.SPECIFIC_LIFETIME: (True, False),
}
MATRIX = list(
    itertools.product(PermittedUsers, IpRelaxation, REFRESH_POLICIES, TokenPath, [FRESH, STALE])
)


def _policy(permitted: PermittedUsers, relaxation: IpRelaxation, refresh: AppPolicy) -> AppPolicy:
    return AppPolicy(
        permitted_users=permitted,
        ip_relaxation=relaxation,
        refresh_token_policy=refresh.refresh_token_policy,
        refresh_token_validity=refresh.refresh_token_validity,
        refresh_token_unit=refresh.refresh_token_unit,
    )


@pytest.mark.parametrize(("permitted", "relaxation", "refresh", "path", "facts"), MATRIX)
def test_allowed_user_inside_ranges_passes_unless_refresh_policy_says_expired(
    permitted, relaxation, refresh, path, facts
):
    policy = _policy(permitted, relaxation, refresh)
    subject = SubjectFacts(pre_authorized=True, has_approval=True)

    denial = evaluate(path=path, policy=policy, facts=subject, now=NOW, refresh=facts)

    usable = REFRESH_USABLE[policy.refresh_token_policy][0 if facts is FRESH else 1]
    if path is TokenPath.REFRESH and not usable:
        assert denial is not None
        assert denial.pair == errors.EXPIRED_REFRESH_TOKEN
    else:
        assert denial is None


@pytest.mark.parametrize(("permitted", "relaxation", "refresh", "path", "facts"), MATRIX)
def test_address_outside_profile_ranges_is_refused_exactly_where_the_relaxation_enforces(
    permitted, relaxation, refresh, path, facts
):
    policy = _policy(permitted, relaxation, refresh)
    subject = SubjectFacts(pre_authorized=True, has_approval=True, ip_allowed=False)

    denial = evaluate(path=path, policy=policy, facts=subject, now=NOW, refresh=FRESH)

    if path in IP_CHECKED[relaxation]:
        assert denial is not None
        assert denial.pair.as_dict() == {
            "error": "invalid_grant",
            "error_description": "IP restricted or invalid login hours",
        }
        assert denial.login_status == "Failed: IP restricted"
    elif path is TokenPath.REFRESH and policy.refresh_token_policy is RefreshTokenPolicy.ZERO:
        assert denial is not None
        assert denial.pair == errors.EXPIRED_REFRESH_TOKEN
    else:
        assert denial is None


@pytest.mark.parametrize(("permitted", "relaxation", "refresh", "path", "facts"), MATRIX)
def test_user_without_link_or_approval_is_refused_by_permitted_users(
    permitted, relaxation, refresh, path, facts
):
    policy = _policy(permitted, relaxation, refresh)
    subject = SubjectFacts(pre_authorized=False, has_approval=False)

    denial = evaluate(path=path, policy=policy, facts=subject, now=NOW, refresh=FRESH)

    if permitted is PermittedUsers.ADMIN_APPROVED:
        assert denial is not None
        assert denial.pair.as_dict() == {
            "error": "invalid_app_access",
            "error_description": "user is not admin approved to access this app",
        }
        assert denial.login_status == "Failed: Not approved for access"
    elif path is TokenPath.JWT_BEARER:
        assert denial is not None
        assert denial.pair.as_dict() == {
            "error": "invalid_grant",
            "error_description": "user hasn't approved this consumer",
        }
    elif path is TokenPath.REFRESH and policy.refresh_token_policy is RefreshTokenPolicy.ZERO:
        assert denial is not None
        assert denial.pair == errors.EXPIRED_REFRESH_TOKEN
    else:
        assert denial is None


@pytest.mark.parametrize(
    ("permitted", "relaxation", "path"),
    list(itertools.product(PermittedUsers, IpRelaxation, TokenPath)),
)
def test_login_hours_are_never_relaxed(permitted, relaxation, path):
    policy = AppPolicy(permitted_users=permitted, ip_relaxation=relaxation)
    subject = SubjectFacts(pre_authorized=True, has_approval=True, within_login_hours=False)

    denial = evaluate(path=path, policy=policy, facts=subject, now=NOW, refresh=FRESH)

    assert denial is not None
    assert denial.pair == errors.IP_OR_HOURS
    assert denial.login_status == "Failed: Login hours restricted"


@pytest.mark.parametrize(
    ("facts", "pair", "status"),
    [
        (
            SubjectFacts(user_active=False, ip_allowed=False),
            errors.INACTIVE_USER,
            "Failed: User inactive",
        ),
        (SubjectFacts(user_frozen=True), errors.INACTIVE_USER, "Failed: User frozen"),
        (SubjectFacts(org_active=False), errors.INACTIVE_ORG, "Failed: Organization inactive"),
    ],
)
@pytest.mark.parametrize("path", list(TokenPath))
def test_inactive_user_or_org_is_checked_before_anything_else(facts, pair, status, path):
    policy = AppPolicy(permitted_users=PermittedUsers.ADMIN_APPROVED)

    denial = evaluate(path=path, policy=policy, facts=facts, now=NOW, refresh=FRESH)

    assert denial is not None
    assert denial.pair == pair
    assert denial.login_status == status


def test_bearer_flow_can_be_configured_to_always_enforce_ip():
    policy = AppPolicy(ip_relaxation=IpRelaxation.BYPASS)
    subject = SubjectFacts(has_approval=True, ip_allowed=False)

    denial = evaluate(
        path=TokenPath.JWT_BEARER,
        policy=policy,
        facts=subject,
        now=NOW,
        bearer_always_enforces_ip=True,
    )

    assert denial is not None
    assert denial.pair == errors.IP_OR_HOURS


def test_inactivity_window_slides_from_last_use():
    policy = AppPolicy(
        refresh_token_policy=RefreshTokenPolicy.SPECIFIC_INACTIVITY,
        refresh_token_validity=4,
        refresh_token_unit=ValidityUnit.HOURS,
    )
    old_family_recent_use = RefreshFacts(
        NOW - timedelta(days=300), NOW - timedelta(hours=3, minutes=59)
    )

    denial = evaluate(
        path=TokenPath.REFRESH,
        policy=policy,
        facts=SubjectFacts(),
        now=NOW,
        refresh=old_family_recent_use,
    )

    assert denial is None


def test_lifetime_counts_from_the_family_start_not_the_last_use():
    policy = AppPolicy(
        refresh_token_policy=RefreshTokenPolicy.SPECIFIC_LIFETIME,
        refresh_token_validity=1,
        refresh_token_unit=ValidityUnit.DAYS,
    )
    used_a_second_ago = RefreshFacts(NOW - timedelta(days=1), NOW - timedelta(seconds=1))

    denial = evaluate(
        path=TokenPath.REFRESH,
        policy=policy,
        facts=SubjectFacts(),
        now=NOW,
        refresh=used_a_second_ago,
    )

    assert denial is not None
    assert denial.pair == errors.EXPIRED_REFRESH_TOKEN


def test_months_are_calendar_months_clamped_to_the_month_end():
    assert add_validity(datetime(2026, 1, 31, tzinfo=UTC), 1, ValidityUnit.MONTHS) == datetime(
        2026, 2, 28, tzinfo=UTC
    )
    assert add_validity(datetime(2026, 11, 15, tzinfo=UTC), 3, ValidityUnit.MONTHS) == datetime(
        2027, 2, 15, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("path", "policy", "scopes", "issued"),
    [
        (TokenPath.CODE_EXCHANGE, RefreshTokenPolicy.INFINITE, ["api", "refresh_token"], True),
        (TokenPath.CODE_EXCHANGE, RefreshTokenPolicy.INFINITE, ["api", "offline_access"], True),
        (TokenPath.CODE_EXCHANGE, RefreshTokenPolicy.INFINITE, ["api"], False),
        (TokenPath.CODE_EXCHANGE, RefreshTokenPolicy.ZERO, ["api", "refresh_token"], False),
        (TokenPath.REFRESH, RefreshTokenPolicy.SPECIFIC_LIFETIME, ["refresh_token"], True),
        (TokenPath.JWT_BEARER, RefreshTokenPolicy.INFINITE, ["api", "refresh_token"], False),
        (TokenPath.PASSWORD, RefreshTokenPolicy.INFINITE, ["api", "refresh_token"], False),
    ],
)
def test_refresh_tokens_are_issued_only_when_scoped_allowed_and_on_the_right_path(
    path, policy, scopes, issued
):
    assert issues_refresh_token(path, AppPolicy(refresh_token_policy=policy), scopes) is issued


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("infinite", (RefreshTokenPolicy.INFINITE, 0, ValidityUnit.DAYS)),
        ("zero", (RefreshTokenPolicy.ZERO, 0, ValidityUnit.DAYS)),
        (
            "specific_inactivity:4:HOURS",
            (RefreshTokenPolicy.SPECIFIC_INACTIVITY, 4, ValidityUnit.HOURS),
        ),
        ("specific_lifetime:1:days", (RefreshTokenPolicy.SPECIFIC_LIFETIME, 1, ValidityUnit.DAYS)),
    ],
)
def test_parses_the_metadata_spelling(text, parsed):
    assert parse_refresh_token_policy(text) == parsed


@pytest.mark.parametrize(
    "text",
    [
        "",
        "forever",
        "zero:1:DAYS",
        "specific_lifetime",
        "specific_lifetime:0:DAYS",
        "specific_lifetime:1:WEEKS",
        "specific_lifetime:-1:DAYS",
    ],
)
def test_refuses_a_bad_policy_spelling(text):
    with pytest.raises(ValueError):
        parse_refresh_token_policy(text)
