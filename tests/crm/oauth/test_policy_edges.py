"""Login hours, inactive users and orgs, links removed after approval, refresh-token reuse."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import time_machine

from tandem.crm.connectedapps.services import connected_app_permission_sets_set
from tandem.crm.oauth.models import AccessToken, RefreshToken
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.permissions.services import permission_set_unassign
from tandem.crm.users.models import LoginHistory, ProfileLoginHours
from tests.crm.oauth.conftest import (
    approve,
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
    ProfileLoginHours.objects.create(
        profile=system_user.profile, weekday=0, start_minutes=480, end_minutes=600
    )

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
    app = make_app(org, rotation=True, ip_relaxation="BYPASS")
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

    ProfileLoginIpRange.objects.create(
        profile=system_user.profile, start_address="192.168.0.1", end_address="192.168.0.9"
    )
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
    assert body == {"error": "invalid_grant", "error_description": "invalid authorization code"}


def test_a_reused_code_revokes_the_tokens_its_first_exchange_issued(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    _, first = exchange(crm_client, app, code, verifier)
    assert AccessToken.objects.filter(user=marketer).count() == 1

    assert exchange(crm_client, app, code, verifier)[0] == 400

    assert not AccessToken.objects.filter(user=marketer).exists()
    assert not RefreshToken.objects.filter(user=marketer, revoked__isnull=True).exists()
    status, body = refresh(crm_client, app, first["refresh_token"])
    assert (status, body["error_description"]) == (400, "expired access/refresh token")


def test_a_reused_code_leaves_other_sessions_alone(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    other_code, other_verifier = authorize_code(crm_client, app, marketer)
    _, other = exchange(crm_client, app, other_code, other_verifier)
    code, verifier = authorize_code(crm_client, app, marketer)
    exchange(crm_client, app, code, verifier)

    exchange(crm_client, app, code, verifier)

    assert refresh(crm_client, app, other["refresh_token"])[0] == 200


def test_a_code_that_failed_its_exchange_is_used_up(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer)
    assert exchange(crm_client, app, code, "not-the-verifier")[0] == 400

    status, body = exchange(crm_client, app, code, verifier)

    assert (status, body["error_description"]) == (400, "invalid authorization code")
    assert not AccessToken.objects.filter(user=marketer).exists()


def test_a_sixth_approval_revokes_the_oldest(crm_client, org, marketer, settings):
    settings.OAUTH_APPROVALS_PER_USER_AND_APP = 5
    app = make_app(org, ip_relaxation="BYPASS")
    sessions = []
    for _ in range(6):
        code, verifier = authorize_code(crm_client, app, marketer)
        sessions.append(exchange(crm_client, app, code, verifier)[1])

    oldest = refresh(crm_client, app, sessions[0]["refresh_token"])
    second = refresh(crm_client, app, sessions[1]["refresh_token"])

    assert (oldest[0], oldest[1]["error_description"]) == (400, "expired access/refresh token")
    assert second[0] == 200
    live = RefreshToken.objects.filter(user=marketer, revoked__isnull=True)
    assert live.values("token_family").distinct().count() == 5


def test_code_lives_at_most_10_minutes(crm_client, org, marketer):
    """RFC 6749 §4.1.2: a code exchanged 10 minutes and 1 second after it was issued is
    expired and issues nothing; one exchanged at 9:59 works."""
    app = make_app(org, ip_relaxation="BYPASS")
    with time_machine.travel(MONDAY_NOON, tick=False):
        late_code, late_verifier = authorize_code(crm_client, app, marketer)
        code, verifier = authorize_code(crm_client, app, marketer)
    with time_machine.travel(datetime(2026, 3, 2, 12, 10, 1, tzinfo=UTC), tick=False):
        status, body = exchange(crm_client, app, late_code, late_verifier)
    assert not AccessToken.objects.exists()
    with time_machine.travel(datetime(2026, 3, 2, 12, 9, 59, tzinfo=UTC), tick=False):
        in_time = exchange(crm_client, app, code, verifier)

    assert status == 400
    assert body == {"error": "invalid_grant", "error_description": "expired authorization code"}
    assert in_time[0] == 200


def test_a_replayed_assertion_is_refused_by_the_endpoint(crm_client, org, system_user):
    from tests.crm.oauth.conftest import JWT_BEARER, LOGIN_URL, token
    from tests.crm.oauth.jwtkeys import assertion

    app = _admin_app(org, system_user)
    signed = assertion(iss=app.key, sub=system_user.username, aud=LOGIN_URL)
    assert token(crm_client, grant_type=JWT_BEARER, assertion=signed)[0] == 200

    status, body = token(crm_client, grant_type=JWT_BEARER, assertion=signed)

    assert status == 400
    assert body == {"error": "invalid_grant", "error_description": "invalid assertion"}
    assert AccessToken.objects.count() == 1


def test_an_assertion_without_jti_is_single_use_too(crm_client, org, system_user):
    """RFC 7523 makes `jti` optional (Salesforce's clients send none): the assertion itself is
    then the replay key, so replaying it is refused, and another assertion is not."""
    import hashlib

    from tandem.crm.oauth.models import JwtAssertionUse
    from tests.crm.oauth.conftest import JWT_BEARER, LOGIN_URL, token
    from tests.crm.oauth.jwtkeys import assertion

    app = _admin_app(org, system_user)
    claims = {"iss": app.key, "sub": system_user.username, "aud": LOGIN_URL, "jti": None}
    signed = assertion(**claims)
    assert token(crm_client, grant_type=JWT_BEARER, assertion=signed)[0] == 200

    replayed = token(crm_client, grant_type=JWT_BEARER, assertion=signed)
    another = token(crm_client, grant_type=JWT_BEARER, assertion=assertion(**claims, lifetime=90))

    assert replayed == (400, {"error": "invalid_grant", "error_description": "invalid assertion"})
    assert another[0] == 200
    assert AccessToken.objects.count() == 2
    assert (
        LoginHistory.objects.filter(user=system_user, status="Failed: Assertion replayed").count()
        == 1
    )
    key = hashlib.sha256(("assertion:" + signed).encode()).hexdigest()
    assert JwtAssertionUse.objects.filter(app_id=app.app.pk, jti_hash=key).exists()


def test_session_timeout_sets_the_access_token_lifetime(crm_client, org, system_user):
    from datetime import timedelta

    from django.utils import timezone

    from tests.crm.oauth.conftest import set_policy

    app = _admin_app(org, system_user)
    set_policy(app.policy, session_timeout_minutes=30)

    assert jwt_token(crm_client, app, system_user)[0] == 200

    expires = AccessToken.objects.get().expires
    assert abs(expires - (timezone.now() + timedelta(minutes=30))) < timedelta(minutes=1)


def test_jwt_needs_an_approval_with_a_standard_scope(crm_client, org, marketer):
    from tests.crm.oauth.conftest import approve

    app = make_app(org, ip_relaxation="BYPASS")
    approve(app, marketer, scopes="refresh_token")

    status, body = jwt_token(crm_client, app, marketer)

    assert (status, body["error"]) == (400, "invalid_scope")
    assert not AccessToken.objects.exists()


def test_openid_scope_returns_a_signed_id_token(crm_client, org, marketer):
    import jwt as pyjwt

    app = make_app(org, ip_relaxation="BYPASS")
    code, verifier = authorize_code(crm_client, app, marketer, scope="openid api")

    status, body = exchange(crm_client, app, code, verifier)

    assert status == 200
    claims = pyjwt.decode(body["id_token"], options={"verify_signature": False})
    assert claims["aud"] == app.key
    assert claims["sub"] == body["id"]
    assert claims["organization_id"] == org.id


def _verified_id_token(client, id_token: str, audience: str) -> dict:
    import jwt as pyjwt

    jwks_path = urlsplit(client.get("/.well-known/openid-configuration").json()["jwks_uri"]).path
    keys = pyjwt.PyJWKSet.from_dict(client.get(jwks_path).json())
    key = keys[pyjwt.get_unverified_header(id_token)["kid"]]
    return pyjwt.decode(id_token, key, algorithms=["RS256"], audience=audience)


def test_jwt_bearer_returns_an_id_token_when_the_approval_includes_openid(
    crm_client, org, marketer
):
    app = make_app(org, ip_relaxation="BYPASS")
    approve(app, marketer, scopes="api openid")

    status, body = jwt_token(crm_client, app, marketer)

    assert status == 200, body
    claims = _verified_id_token(crm_client, body["id_token"], app.key)
    assert claims["sub"] == body["id"]
    assert body["scope"] == "api openid"


def test_jwt_bearer_has_no_id_token_without_openid(crm_client, org, marketer):
    app = make_app(org, ip_relaxation="BYPASS")
    approve(app, marketer, scopes="api")

    status, body = jwt_token(crm_client, app, marketer)

    assert status == 200, body
    assert "id_token" not in body


def test_jwt_on_the_orgs_my_domain_with_its_audience(org, system_user):
    from django.test import Client

    app = _admin_app(org, system_user)
    my_domain = Client(HTTP_HOST="acme.my.localhost:8001")

    status, body = jwt_token(my_domain, app, system_user, aud="http://acme.my.localhost:8001")

    assert status == 200, body
    assert body["instance_url"] == "http://acme.my.localhost:8001"


def test_jwt_with_another_orgs_my_domain_audience_is_refused(
    crm_client, org, other_org, system_user
):
    app = _admin_app(org, system_user)

    status, body = jwt_token(crm_client, app, system_user, aud="http://globex.my.localhost:8001")

    assert status == 400
    assert body["error_description"] == "audience validation failed"


def _enforced_app_with_range(org, user):
    from tandem.crm.users.models import ProfileLoginIpRange
    from tests.crm.oauth.conftest import set_policy

    app = _admin_app(org, user)
    set_policy(app.policy, ip_relaxation="ENFORCE")
    ProfileLoginIpRange.objects.create(
        profile=user.profile, start_address="203.0.113.1", end_address="203.0.113.9"
    )
    return app


def _jwt_via_proxy(client, app, user):
    from tests.crm.oauth.conftest import JWT_BEARER, LOGIN_URL
    from tests.crm.oauth.jwtkeys import assertion

    data = {
        "grant_type": JWT_BEARER,
        "assertion": assertion(iss=app.key, sub=user.username, aud=LOGIN_URL),
    }
    from urllib.parse import urlencode

    return client.post(
        "/services/oauth2/token",
        urlencode(data),
        content_type="application/x-www-form-urlencoded",
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.5",
    )


def test_forwarded_address_counts_only_behind_a_trusted_proxy(
    crm_client, org, system_user, settings
):
    app = _enforced_app_with_range(org, system_user)
    settings.TRUSTED_PROXIES = ["10.9.9.0/24"]

    assert _jwt_via_proxy(crm_client, app, system_user).status_code == 200


def test_forwarded_address_from_an_untrusted_peer_is_ignored(
    crm_client, org, system_user, settings
):
    app = _enforced_app_with_range(org, system_user)
    settings.TRUSTED_PROXIES = []

    response = _jwt_via_proxy(crm_client, app, system_user)

    assert response.status_code == 400
    assert response.json()["error_description"] == "IP restricted or invalid login hours"
