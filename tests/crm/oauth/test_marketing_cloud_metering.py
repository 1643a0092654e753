"""The Marketing Cloud app's REST calls are exempt from the org's daily API limit only under
connected-app authentication (JWT bearer); by the legacy password flow they count."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum
from django.test import Client

from tandem.crm.api.models import ApiUsage
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import (
    connected_app_deployment_sync,
    connected_app_policy_ensure,
)
from tandem.crm.orgs.services import trusted_ip_range_add
from tests.crm.api.conftest import V
from tests.crm.conftest import PASSWORD
from tests.crm.oauth.conftest import App, jwt_token, pre_authorize, set_policy, token
from tests.crm.oauth.jwtkeys import key_pair

pytestmark = pytest.mark.django_db
ACME = "http://acme.my.localhost:8001"
Q = V + "/query?q=SELECT+Id+FROM+Contact"


@pytest.fixture
def mc(settings: Any, org: Any, system_user: Any) -> App:
    settings.MC_CONSUMER_KEY = "3MVG9MarketingCloudConsumerKey"
    settings.MC_CERTIFICATE = key_pair("engagement")[1]
    app = connected_app_deployment_sync()
    assert isinstance(app, ConnectedApp)
    row = connected_app_policy_ensure(app=app, org=org)
    set_policy(row, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
    made = App(app, "", row)
    pre_authorize(made, system_user)
    org.allow_username_password_flows = True
    org.save()
    trusted_ip_range_add(actor=None, org=org, start_address="10.0.0.0", end_address="10.0.0.255")
    return made


def _query(crm_client: Client, access_token: str) -> Any:
    return crm_client.get(Q, headers={"Authorization": f"Bearer {access_token}"})


def _calls(counts: bool) -> int:
    rows = ApiUsage.objects.filter(counts_against_limit=counts)
    return rows.aggregate(n=Sum("calls"))["n"] or 0


def test_calls_by_a_jwt_bearer_token_are_exempt(
    crm_client: Client, mc: App, system_user: Any
) -> None:
    status, body = jwt_token(crm_client, mc, system_user, key_name="engagement", aud=ACME)
    assert status == 200, body

    response = _query(crm_client, body["access_token"])

    assert response.status_code == 200
    assert response["Sforce-Limit-Info"] == f"api-usage=0/{system_user.org.api_daily_limit}"
    assert (_calls(counts=False), _calls(counts=True)) == (1, 0)


def test_calls_by_a_password_flow_token_count(
    crm_client: Client, mc: App, system_user: Any
) -> None:
    status, body = token(
        crm_client,
        grant_type="password",
        client_id=mc.key,
        username=system_user.username,
        password=PASSWORD,
    )
    assert status == 200, body

    response = _query(crm_client, body["access_token"])

    assert response.status_code == 200
    assert response["Sforce-Limit-Info"] == f"api-usage=1/{system_user.org.api_daily_limit}"
    assert (_calls(counts=False), _calls(counts=True)) == (0, 1)
