"""Login hours, inactive users and orgs, links removed after approval, refresh-token reuse."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from tandem.crm.connectedapps.services import connected_app_permission_sets_set
from tandem.crm.oauth.models import AccessToken, RefreshToken
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.permissions.services import permission_set_unassign
from tandem.crm.users.models import LoginHistory, ProfileLoginHours
from tests.crm.oauth.conftest import (
    authorize_code,
    exchange,
    jwt_token,
    make_app,
    pre_authorize,
    refresh,
)

ADMIN = "AdminApprovedPreAuthorized"
MONDAY_NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _admin_app(org, user):
    app = make_app(org, permitted_users=ADMIN, ip_relaxation="BYPASS")
    pre_authorize(app, user)
    return app


def test_jwt_outside_login_hours_is_refused_with_the_ip_pair(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    ProfileLoginHours.objects.create(profile=system_user.profile, weekday=0, start_minutes=480,
                                     end_minutes=600)  # fmt: skip

    with time_machine.travel(MONDAY_NOON, tick=False):
        status, body = jwt_token(crm_client, app, system_user)

    assert status == 400
    assert body == {
        "error": "invalid_grant",
        "error_description": "IP restricted or invalid login hours",
    }
    assert LoginHistory.objects.filter(
        user=system_user, status="Failed: Login hours restricted"
    ).exists()


def test_inactive_user_gets_inactive_user(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    system_user.is_active = False
    system_user.save()

    status, body = jwt_token(crm_client, app, system_user)

    assert (status, body["error"]) == (400, "inactive_user")
    assert not AccessToken.objects.exists()


def test_frozen_user_gets_inactive_user(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    system_user.is_frozen = True
    system_user.save()

    status, body = jwt_token(crm_client, app, system_user)

    assert (status, body["error"]) == (400, "inactive_user")
    assert LoginHistory.objects.filter(user=system_user, status="Failed: User frozen").exists()


def test_inactive_org_gets_inactive_org(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    org.is_active = False
    org.save()

    status, body = jwt_token(crm_client, app, system_user)

    assert (status, body["error"]) == (400, "inactive_org")


def test_unlinking_the_permission_set_cuts_off_the_next_jwt(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    assert jwt_token(crm_client, app, system_user)[0] == 200

    connected_app_permission_sets_set(actor=None, policy=app.policy, permission_sets=[])
    status, body = jwt_token(crm_client, app, system_user)

    assert status == 400
    assert body["error"] == "invalid_app_access"


def test_unassigning_the_permission_set_cuts_off_the_next_refresh(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    _, tokens = exchange(crm_client, app, code, verifier)
    pre_authorize(app, marketer)
    from tests.crm.oauth.conftest import set_policy

    set_policy(app.policy, permitted_users=ADMIN)
    ps = PermissionSet.objects.get(org=org)
    permission_set_unassign(actor=None, permission_set=ps, users=[marketer])

    status, body = refresh(crm_client, app, tokens["refresh_token"])

    assert status == 400
    assert body["error"] == "invalid_app_access"


def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    _, first = exchange(crm_client, app, code, verifier)
    _, second = refresh(crm_client, app, first["refresh_token"])

    status, body = refresh(crm_client, app, first["refresh_token"])  # replay

    assert status == 400
    assert body == {"error": "invalid_grant", "error_description": "expired access/refresh token"}
    assert refresh(crm_client, app, second["refresh_token"])[0] == 400
    assert not RefreshToken.objects.filter(revoked__isnull=True).exists()
    assert not AccessToken.objects.exists()


def test_policy_change_applies_to_the_very_next_request(crm_client, org, system_user):
    app = _admin_app(org, system_user)
    assert jwt_token(crm_client, app, system_user)[0] == 200
    from tests.crm.oauth.conftest import set_policy

    set_policy(app.policy, ip_relaxation="ENFORCE")
    from tandem.crm.users.models import ProfileLoginIpRange

    ProfileLoginIpRange.objects.create(profile=system_user.profile, start_address="192.168.0.1",
                                       end_address="192.168.0.9")  # fmt: skip
    status, body = jwt_token(crm_client, app, system_user)

    assert status == 400
    assert body["error_description"] == "IP restricted or invalid login hours"


def test_zero_policy_issues_no_refresh_token(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS", refresh_token_policy="zero")

    code, verifier = authorize_code(crm_client, app, marketer)
    status, body = exchange(crm_client, app, code, verifier)

    assert status == 200
    assert "refresh_token" not in body
    assert not RefreshToken.objects.exists()


def test_code_is_single_use(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    assert exchange(crm_client, app, code, verifier)[0] == 200

    status, body = exchange(crm_client, app, code, verifier)

    assert status == 400
    assert body["error"] == "invalid_grant"


def test_code_expires_after_15_minutes(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    with time_machine.travel(MONDAY_NOON, tick=False):
        code, verifier = authorize_code(crm_client, app, marketer)
    with time_machine.travel(datetime(2026, 3, 2, 12, 15, 1, tzinfo=UTC), tick=False):
        status, body = exchange(crm_client, app, code, verifier)

    assert status == 400
    assert body == {"error": "invalid_grant", "error_description": "expired authorization code"}
