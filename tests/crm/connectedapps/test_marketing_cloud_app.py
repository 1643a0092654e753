"""The deployment's Salesforce Marketing Cloud app: configured from settings, listed in an org
when one of its users first authorizes it, with the default policies, then the admin's to edit."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppPolicy
from tandem.crm.connectedapps.services import connected_app_permission_sets_set
from tandem.crm.permissions.services import permission_set_assign, permission_set_create
from tests.crm.oauth.conftest import App, jwt_token, set_policy
from tests.crm.oauth.jwtkeys import key_pair

MC_KEY = "3MVG9MarketingCloudConsumerKey"
MC_CALLBACK = "http://localhost:8002/connect/callback"
ACME = "http://acme.my.localhost:8001"  # the org's My Domain: the app's assertions name it


@pytest.fixture
def mc_settings(settings):
    settings.MC_CONSUMER_KEY = MC_KEY
    settings.MC_CONSUMER_SECRET = "mc-secret-" + "x" * 30
    settings.MC_CALLBACK_URL = MC_CALLBACK
    settings.MC_CERTIFICATE = key_pair("engagement")[1]
    return settings


def _mc_app() -> App:
    app = ConnectedApp.objects.get(deployment_key="marketing_cloud")
    return App(app, "mc-secret-" + "x" * 30, ConnectedAppPolicy.objects.get(app=app))


def _authorize(user) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    from tests.crm.oauth.conftest import pkce_pair

    _, challenge = pkce_pair()
    response = client.get(
        "/services/oauth2/authorize",
        {
            "response_type": "code",
            "client_id": MC_KEY,
            "redirect_uri": MC_CALLBACK,
            "code_challenge": challenge,
        },
    )
    assert response.status_code == 200, response.content
    data = {k: v for k, v in response.context["form"].initial.items() if v is not None}
    response = client.post("/services/oauth2/authorize", {**data, "allow": "Authorize"})
    assert response.status_code == 302
    assert response["Location"].startswith(MC_CALLBACK + "?code=")
    return client


def test_not_listed_before_anyone_authorizes_it(mc_settings, org, admin):
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)

    assert b"Salesforce Marketing Cloud" not in client.get("/setup/connected-apps/").content


def test_first_authorization_lists_it_with_the_default_policies(
    mc_settings, org, admin, system_user
):
    _authorize(system_user)

    row = ConnectedAppPolicy.objects.get(org=org, app__deployment_key="marketing_cloud")
    assert (row.permitted_users, row.ip_relaxation, row.refresh_token_policy) == (
        "AllSelfAuthorized",
        "ENFORCE",
        "infinite",
    )
    client = Client(HTTP_HOST="localhost")
    client.force_login(admin)
    assert b"Salesforce Marketing Cloud" in client.get("/setup/connected-apps/").content


def test_after_the_crm_admin_steps_the_jwt_flow_works_for_assigned_users(
    mc_settings, org, system_user, marketer
):
    _authorize(system_user)
    mc = _mc_app()
    set_policy(
        mc.policy,
        permitted_users="AdminApprovedPreAuthorized",
        ip_relaxation="BYPASS",
        refresh_token_policy="zero",
    )
    ps = permission_set_create(
        org=org,
        actor=None,
        label="Marketing Cloud Connected App",
        api_name="Marketing_Cloud_Connected_App",
    )
    permission_set_assign(actor=None, permission_set=ps, users=[system_user])
    connected_app_permission_sets_set(actor=None, policy=mc.policy, permission_sets=[ps])
    client = Client(HTTP_HOST="localhost")

    ok_status, ok_body = jwt_token(client, mc, system_user, key_name="engagement", aud=ACME)
    denied_status, denied_body = jwt_token(client, mc, marketer, key_name="engagement", aud=ACME)

    assert ok_status == 200, ok_body
    assert "refresh_token" not in ok_body
    # Connect resolves *.localhost itself and names the org by its My Domain.
    assert ok_body["instance_url"] == "http://acme.my.localhost:8001"
    assert denied_status == 400
    assert denied_body["error"] == "invalid_app_access"


def test_a_new_certificate_in_settings_is_picked_up(mc_settings, org, system_user):
    _authorize(system_user)
    mc_settings.MC_CERTIFICATE = key_pair("rotated")[1]
    set_policy(_mc_app().policy, permitted_users="AllSelfAuthorized", ip_relaxation="BYPASS")

    status, _ = jwt_token(
        Client(HTTP_HOST="localhost"), _mc_app(), system_user, key_name="rotated", aud=ACME
    )

    assert status == 200
