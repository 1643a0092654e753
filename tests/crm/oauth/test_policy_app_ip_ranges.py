"""The evaluator with the app's own Trusted IP Ranges for OAuth Web Server Flow: they decide
alone under *Relax IP restrictions for activated devices* on authorize and code exchange, and
change nothing anywhere else (docs/reference/oauth-policies.md)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tandem.crm.oauth import errors
from tandem.crm.oauth.policy import (
    AppPolicy,
    IpRelaxation,
    RefreshFacts,
    SubjectFacts,
    TokenPath,
    app_ip_ranges_apply,
    evaluate,
)

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
FRESH = RefreshFacts(NOW - timedelta(hours=1), NOW - timedelta(hours=1))
A, C, R, J, P = (
    TokenPath.AUTHORIZE,
    TokenPath.CODE_EXCHANGE,
    TokenPath.REFRESH,
    TokenPath.JWT_BEARER,
    TokenPath.PASSWORD,
)

# Under BYPASS_2FACTOR: (path, app has ranges, address in them, profile admits it) -> allowed.
BYPASS_2FACTOR_TABLE = [
    # The app's ranges replace the profile's on the web-server flow.
    (A, True, True, False, True),
    (A, True, False, True, False),
    (A, True, False, False, False),
    (A, True, True, True, True),
    (C, True, True, False, True),
    (C, True, False, True, False),
    (C, True, False, False, False),
    (C, True, True, True, True),
    # No ranges: the login counts as activating the device, as before.
    (A, False, False, False, True),
    (C, False, False, False, True),
    # Refresh, JWT and password keep the profile's ranges, whatever the app's say.
    (R, True, True, False, False),
    (R, True, False, True, True),
    (J, True, True, False, False),
    (J, True, False, True, True),
    (P, True, True, False, False),
    (P, True, False, True, True),
]


@pytest.mark.parametrize(
    ("path", "has_ranges", "in_app", "profile_ok", "allowed"), BYPASS_2FACTOR_TABLE
)
def test_app_ranges_under_relax_for_activated_devices(
    path, has_ranges, in_app, profile_ok, allowed
):
    policy = AppPolicy(ip_relaxation=IpRelaxation.BYPASS_2FACTOR)
    facts = SubjectFacts(
        has_approval=True,
        ip_allowed=profile_ok,
        app_has_ip_ranges=has_ranges,
        ip_in_app_ranges=in_app,
    )

    denial = evaluate(path=path, policy=policy, facts=facts, now=NOW, refresh=FRESH)

    if allowed:
        assert denial is None
    else:
        assert denial is not None
        assert denial.pair == errors.IP_OR_HOURS
        assert denial.login_status == "Failed: IP restricted"


OTHER_RELAXATIONS = [r for r in IpRelaxation if r is not IpRelaxation.BYPASS_2FACTOR]


@pytest.mark.parametrize(
    ("relaxation", "path", "in_app", "profile_ok"),
    list(itertools.product(OTHER_RELAXATIONS, TokenPath, [True, False], [True, False])),
)
def test_app_ranges_change_nothing_under_other_relaxations(relaxation, path, in_app, profile_ok):
    policy = AppPolicy(ip_relaxation=relaxation)
    without = SubjectFacts(has_approval=True, ip_allowed=profile_ok)
    with_ranges = SubjectFacts(
        has_approval=True, ip_allowed=profile_ok, app_has_ip_ranges=True, ip_in_app_ranges=in_app
    )

    denial = evaluate(path=path, policy=policy, facts=with_ranges, now=NOW, refresh=FRESH)

    assert denial == evaluate(path=path, policy=policy, facts=without, now=NOW, refresh=FRESH)


def test_login_hours_still_apply_inside_the_app_ranges():
    policy = AppPolicy(ip_relaxation=IpRelaxation.BYPASS_2FACTOR)
    facts = SubjectFacts(within_login_hours=False, app_has_ip_ranges=True, ip_in_app_ranges=True)

    denial = evaluate(path=A, policy=policy, facts=facts, now=NOW)

    assert denial is not None
    assert denial.login_status == "Failed: Login hours restricted"


@pytest.mark.parametrize(("relaxation", "path"), list(itertools.product(IpRelaxation, TokenPath)))
def test_ranges_are_loaded_only_for_the_web_server_flow_under_bypass_2factor(relaxation, path):
    expected = relaxation is IpRelaxation.BYPASS_2FACTOR and path in (A, C)

    assert app_ip_ranges_apply(path, relaxation) is expected
