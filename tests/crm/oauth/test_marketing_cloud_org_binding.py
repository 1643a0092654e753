"""The deployment's Salesforce Marketing Cloud app signs for every org with one key, so its
assertions are tied to one org: `aud` must be the user's org's My Domain URL (ADR 0401). The
attack: an Engagement account connected to one org maps a second org's pre-authorized user;
whatever audience the assertion names, that user gets nothing and nothing is stored."""

from __future__ import annotations

import pytest

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppUsage
from tandem.crm.connectedapps.services import (
    connected_app_deployment_sync,
    connected_app_policy_ensure,
)
from tandem.crm.oauth.models import AccessToken, JwtAssertionUse
from tandem.crm.users.models import LoginHistory, ProfileName
from tests.crm.conftest import make_user
from tests.crm.oauth.conftest import LOGIN_URL, App, jwt_token, pre_authorize, set_policy
from tests.crm.oauth.jwtkeys import key_pair

ACME = "http://acme.my.localhost:8001"
GLOBEX = "http://globex.my.localhost:8001"


@pytest.fixture
def mc(settings, org, other_org):
    """The Marketing Cloud app, admin-approved in both orgs."""
    settings.MC_CONSUMER_KEY = "3MVG9MarketingCloudConsumerKey"
    settings.MC_CERTIFICATE = key_pair("engagement")[1]
    app = connected_app_deployment_sync()
    assert isinstance(app, ConnectedApp)
    made = None
    for each in (org, other_org):
        row = connected_app_policy_ensure(app=app, org=each)
        set_policy(row, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
        made = App(app, "", row) if each == org else made
    assert made is not None
    return made


@pytest.fixture
def globex_user(other_org, mc):
    """A user of the second org, pre-authorized there for the Marketing Cloud app."""
    from tandem.crm.connectedapps.models import ConnectedAppPolicy

    user = make_user(other_org, "system@globex.test", ProfileName.SYSTEM_ADMINISTRATOR)
    row = ConnectedAppPolicy.objects.get(app=mc.app, org=other_org)
    pre_authorize(App(mc.app, "", row), user)
    return user


def _nothing_stored_for(user) -> None:
    assert not AccessToken.objects.exists()
    assert not JwtAssertionUse.objects.exists()
    assert not ConnectedAppUsage.objects.filter(user=user).exists()
    assert list(LoginHistory.objects.filter(user=user).values_list("status", flat=True)) == [
        "Failed: Audience validation failed"
    ]


@pytest.mark.parametrize("aud", [LOGIN_URL, f"{LOGIN_URL}/", ACME, "https://login.salesforce.com"])
def test_another_orgs_user_gets_nothing_whatever_the_audience(
    crm_client, settings, mc, globex_user, aud
):
    settings.OAUTH_SALESFORCE_AUDIENCES = True

    status, body = jwt_token(crm_client, mc, globex_user, key_name="engagement", aud=aud)

    assert (status, body["error_description"]) == (400, "audience validation failed")
    _nothing_stored_for(globex_user)


def test_the_users_own_my_domain_gets_a_token(crm_client, mc, globex_user):
    status, body = jwt_token(crm_client, mc, globex_user, key_name="engagement", aud=GLOBEX)

    assert status == 200, body
    assert body["id"].endswith(f"/{globex_user.org_id}/{globex_user.pk}")


def test_the_engagements_audience_keeps_working_for_its_org(crm_client, mc, system_user):
    pre_authorize(mc, system_user)

    status, body = jwt_token(crm_client, mc, system_user, key_name="engagement", aud=ACME)

    assert status == 200, body
    assert body["instance_url"] == ACME  # what Connect signs its next assertions for


def test_an_ordinary_app_still_accepts_the_login_url(crm_client, org, system_user):
    from tests.crm.oauth.conftest import make_app

    app = make_app(org, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
    pre_authorize(app, system_user)

    assert jwt_token(crm_client, app, system_user, aud=LOGIN_URL)[0] == 200
