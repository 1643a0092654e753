"""The whole matrix over the real endpoints: Permitted Users (2) x IP Relaxation (4) x Refresh
Token Policy (4), on every token path (authorize, code exchange, refresh, JWT bearer, password),
for an allowed user, a user outside the profile's IP ranges and a user neither linked nor
approved, with a frozen clock. Each refusal is the exact pair, writes Login History, issues
nothing."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from tandem.crm.connectedapps.models import ConnectedAppAccess, ConnectedAppConsent
from tandem.crm.oauth.models import AccessToken, Grant
from tandem.crm.orgs.models import Org
from tandem.crm.orgs.services import trusted_ip_range_add
from tandem.crm.users.models import LoginHistory, ProfileLoginIpRange
from tests.crm.conftest import PASSWORD
from tests.crm.oauth.conftest import (
    CALLBACK,
    App,
    approve,
    authorize_code,
    exchange,
    jwt_token,
    make_app,
    pkce_pair,
    pre_authorize,
    refresh,
    set_policy,
    token,
)

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)  # a Monday
LATER = T0 + timedelta(hours=36)
CLIENT_IP = "10.0.0.5"

PERMITTED = ["AllSelfAuthorized", "AdminApprovedPreAuthorized"]
RELAXATIONS = ["ENFORCE", "ENFORCE_RELAXREFRESH", "BYPASS_2FACTOR", "BYPASS"]
# 36 hours after the refresh token was issued: inactivity 2 days holds, lifetime 1 day is over.
REFRESH_POLICIES = {
    "infinite": ({"refresh_token_policy": "infinite"}, True),
    "zero": ({"refresh_token_policy": "zero"}, False),
    "inactivity_2_days": (
        {"refresh_token_policy": "specific_inactivity", "refresh_token_validity": 2,
         "refresh_token_unit": "DAYS"}, True,
    ),
    "lifetime_1_day": (
        {"refresh_token_policy": "specific_lifetime", "refresh_token_validity": 1,
         "refresh_token_unit": "DAYS"}, False,
    ),
}  # fmt: skip
PATHS = ["authorize", "code", "refresh", "jwt", "password"]
IP_CHECKED = {
    "ENFORCE": set(PATHS),
    "ENFORCE_RELAXREFRESH": set(PATHS) - {"refresh"},
    "BYPASS_2FACTOR": {"refresh", "jwt", "password"},
    "BYPASS": set(),
}
IP_PAIR = {"error": "invalid_grant", "error_description": "IP restricted or invalid login hours"}
ADMIN_PAIR = {
    "error": "invalid_app_access",
    "error_description": "user is not admin approved to access this app",
}
NOT_APPROVED_PAIR = {
    "error": "invalid_grant",
    "error_description": "user hasn't approved this consumer",
}
EXPIRED_PAIR = {"error": "invalid_grant", "error_description": "expired access/refresh token"}
MATRIX = list(
    itertools.product(PERMITTED, RELAXATIONS, REFRESH_POLICIES, ["allowed", "ip", "unlinked"])
)


@dataclass
class Outcome:
    ok: bool
    pair: dict[str, str] | None = None
    status: str | None = None


def expected(
    permitted: str, relaxation: str, refresh_key: str, scenario: str, path: str
) -> Outcome:
    """The specification, stated independently of the code."""
    if scenario == "unlinked":
        if permitted == "AdminApprovedPreAuthorized":
            return Outcome(False, ADMIN_PAIR, "Failed: Not approved for access")
        if path == "jwt":
            return Outcome(False, NOT_APPROVED_PAIR, "Failed: Not approved for access")
    if scenario == "ip" and path in IP_CHECKED[relaxation]:
        return Outcome(False, IP_PAIR, "Failed: IP restricted")
    if path == "refresh" and not REFRESH_POLICIES[refresh_key][1]:
        return Outcome(False, EXPIRED_PAIR, "Failed: Refresh token expired")
    return Outcome(True)


def _prepare(org: Org, user: Any) -> tuple[App, str]:
    """A permissive app, an approved and pre-authorized user, one refresh token (at T0)."""
    org.allow_username_password_flows = True
    org.save()
    trusted_ip_range_add(actor=None, org=org, start_address="10.0.0.0", end_address="10.0.0.255")
    app = make_app(org, ip_relaxation="BYPASS")
    approve(app, user)
    pre_authorize(app, user)
    code, verifier = authorize_code(app_client(), app, user)
    status, body = exchange(app_client(), app, code, verifier)
    assert status == 200, body
    return app, body["refresh_token"]


def app_client() -> Any:
    from django.test import Client

    return Client(HTTP_HOST="localhost")


def _apply(
    app: App, user: Any, permitted: str, relaxation: str, refresh_key: str, scenario: str
) -> None:
    set_policy(app.policy, permitted_users=permitted, ip_relaxation=relaxation,
               **REFRESH_POLICIES[refresh_key][0])  # fmt: skip
    if scenario == "ip":
        ProfileLoginIpRange.objects.create(
            profile=user.profile, start_address="192.168.1.1", end_address="192.168.1.255"
        )
    if scenario == "unlinked":
        ConnectedAppAccess.objects.filter(policy=app.policy).delete()
        ConnectedAppConsent.objects.filter(app=app.app, user=user).delete()


def _code(app: App, user: Any) -> tuple[str, str]:
    """A fresh authorization code, as if the browser step had just succeeded."""
    verifier, challenge = pkce_pair()
    raw = f"code-{timezone.now().timestamp()}-{user.pk}"
    Grant.objects.create(
        application=app.app, user=user, code=raw, expires=timezone.now() + timedelta(minutes=15),
        redirect_uri=CALLBACK, scope="api refresh_token", code_challenge=challenge,
        code_challenge_method="S256",
    )  # fmt: skip
    return raw, verifier


def _run(path: str, app: App, user: Any, refresh_token: str) -> tuple[bool, dict[str, Any]]:
    client = app_client()
    if path == "authorize":
        return _authorize(client, app, user)
    if path == "code":
        status, body = exchange(client, app, *_code(app, user), ip=CLIENT_IP)
    elif path == "refresh":
        status, body = refresh(client, app, refresh_token, ip=CLIENT_IP)
    elif path == "jwt":
        status, body = jwt_token(client, app, user, ip=CLIENT_IP)
    else:
        status, body = token(
            client, CLIENT_IP, grant_type="password", client_id=app.key,
            client_secret=app.secret, username=user.username, password=PASSWORD,
        )  # fmt: skip
    return status == 200, body


def _authorize(client: Any, app: App, user: Any) -> tuple[bool, dict[str, str]]:
    """One browser visit: a code on the callback, or the error page's pair."""
    _, challenge = pkce_pair()
    client.force_login(user)
    params = {"response_type": "code", "client_id": app.key, "redirect_uri": CALLBACK,
              "scope": "api", "code_challenge": challenge}  # fmt: skip
    response = client.get("/services/oauth2/authorize", params, REMOTE_ADDR=CLIENT_IP)
    if response.status_code == 200:  # consent page (self-authorize, not yet approved)
        data = {k: v for k, v in response.context["form"].initial.items() if v is not None}
        data["allow"] = "Authorize"
        response = client.post("/services/oauth2/authorize", data, REMOTE_ADDR=CLIENT_IP)
    if response.status_code == 302 and "code=" in response["Location"]:
        return True, {}
    return False, response.context["pair"].as_dict()


@pytest.mark.parametrize(("permitted", "relaxation", "refresh_key", "scenario"), MATRIX)
def test_every_token_path_under_the_policy(
    org, marketer, permitted, relaxation, refresh_key, scenario
):
    with time_machine.travel(T0, tick=False):
        app, refresh_token = _prepare(org, marketer)
    for path in PATHS:
        _apply(app, marketer, permitted, relaxation, refresh_key, scenario)  # paths independent
        with time_machine.travel(LATER, tick=False):
            last_token = AccessToken.objects.order_by("-id").values_list("id", flat=True).first()
            history_before = set(LoginHistory.objects.values_list("id", flat=True))
            ok, body = _run(path, app, marketer, refresh_token)

            want = expected(permitted, relaxation, refresh_key, scenario, path)
            assert ok is want.ok, (path, body)
            if not want.ok:
                assert body == want.pair, path
                assert not AccessToken.objects.filter(id__gt=last_token or 0).exists(), path
                new_rows = LoginHistory.objects.exclude(id__in=history_before)
                assert list(new_rows.values_list("status", flat=True)) == [want.status], path
