"""A user connects their own CRM user by hand: Connect → the CRM → the callback."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from tandem.engagement.accounts.models import Account, AuditEvent, User
from tandem.engagement.connect import services
from tandem.engagement.connect.models import (
    ApiCallDay,
    ConnectedUser,
    CrmConnection,
    UserConnectionState,
)
from tandem.engagement.connect.services import pkce_challenge
from tandem.engagement.connect.tokens import tokens_forget
from tests.engagement.conftest import client_for
from tests.engagement.connect.conftest import NOT_ADMIN_APPROVED, FakeCrm
from tests.engagement.factories import UserFactory

URL = "/email/admin/salesforce-integration/"
CONNECT = URL + "connect-me/"
CALLBACK = URL + "callback/"
NINA_CRM = "nina@acme.test"


pytestmark = pytest.mark.usefixtures("mc_consumer_key")


@pytest.fixture
def nina(account: Account, crm: FakeCrm) -> User:
    """A marketing user never connected; her CRM user exists."""
    crm.add(NINA_CRM, "005000000000009AAA")
    crm.code_identity = NINA_CRM
    return UserFactory(account=account, username="nina")


@pytest.fixture
def nina_client(nina: User) -> Client:
    return client_for(nina)


def start(client: Client) -> dict[str, str]:
    """Press Connect; the authorize request's parameters."""
    response = client.post(CONNECT)
    assert response.status_code == 302, response.content
    query = parse_qs(urlsplit(response["Location"]).query)
    return {key: values[0] for key, values in query.items()}


def answer(client: Client, **params: str) -> str:
    """The CRM sends the browser back; the page it lands on."""
    response = client.get(CALLBACK, params, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def snapshot(account: Account) -> tuple[list[tuple[object, ...]], int]:
    rows = ConnectedUser.objects.filter(account=account).order_by("pk")
    values = rows.values_list("user_id", "crm_username", "crm_user_id", "state", "legacy_secret")
    return list(values), AuditEvent.objects.filter(account=account).count()


# --- Happy path -----------------------------------------------------------------------------


def test_connect_goes_to_the_crm_with_pkce_state_and_a_fresh_login(
    upgraded: CrmConnection, nina_client: Client
) -> None:
    response = nina_client.post(CONNECT)

    location = urlsplit(response["Location"])
    params = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}" == upgraded.token_url
    assert location.path == "/services/oauth2/authorize"
    assert params["response_type"] == ["code"]
    assert params["client_id"] == ["3MVG9test"]
    assert params["redirect_uri"] == [services.callback_url()]
    assert params["code_challenge_method"] == ["S256"]
    assert len(params["code_challenge"][0]) == 43
    assert params["prompt"] == ["login"]
    assert params["state"][0] == nina_client.session["connect_user_connection"]["state"]


def test_callback_connects_the_user_and_audits_it(
    upgraded: CrmConnection, nina: User, nina_client: Client
) -> None:
    params = start(nina_client)

    page = answer(nina_client, code="good-code", state=params["state"])

    mapping = ConnectedUser.objects.get(user=nina)
    assert (mapping.crm_username, mapping.crm_user_id) == (NINA_CRM, "005000000000009AAA")
    assert mapping.state == UserConnectionState.CONNECTED
    assert mapping.account_id == upgraded.account_id
    assert f"You are connected to the CRM as {NINA_CRM}." in page
    event = AuditEvent.objects.filter(action="connect.user_connected").get()
    assert (event.actor, event.target) == (nina, "nina")
    assert "connect_user_connection" not in nina_client.session


def test_verifier_sent_on_exchange_matches_the_challenge(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client
) -> None:
    params = start(nina_client)

    answer(nina_client, code="good-code", state=params["state"])

    (exchange,) = crm.exchanges
    assert exchange["code"] == "good-code"
    assert pkce_challenge(exchange["verifier"]) == params["code_challenge"]
    assert exchange["redirect_uri"] == services.callback_url()


def test_the_connected_user_is_used_through_the_jwt_bearer_flow(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client
) -> None:
    answer(nina_client, code="good-code", state=start(nina_client)["state"])
    crm.calls.clear()
    tokens_forget(upgraded.account_id)

    token = services.connection_token(upgraded, NINA_CRM)

    assert token.access_token == f"token-{NINA_CRM}"
    assert crm.calls == [f"jwt {NINA_CRM}"]


def test_a_user_the_window_left_disconnected_connects_by_hand(
    upgraded: CrmConnection, crm: FakeCrm, account: Account
) -> None:
    max_user = User.objects.get(username="max")
    ConnectedUser.objects.filter(user=max_user).update(state=UserConnectionState.DISCONNECTED)
    CrmConnection.objects.filter(pk=upgraded.pk).update(window_ends_at=timezone.now())
    del crm.jwt_refusals["mark@acme.test"]  # the CRM admin assigned the permission set since
    crm.code_identity = "mark@acme.test"
    client = client_for(max_user)

    answer(client, code="good-code", state=start(client)["state"])

    assert ConnectedUser.objects.get(user=max_user).state == UserConnectionState.CONNECTED


# --- Refusals: a message on the page, nothing changed ---------------------------------------


def test_denied_consent_changes_nothing(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client, account: Account
) -> None:
    params = start(nina_client)
    before = snapshot(account)

    page = answer(
        nina_client,
        error="access_denied",
        error_description="end-user denied authorization",
        state=params["state"],
    )

    assert "access_denied: end-user denied authorization" in page
    assert snapshot(account) == before
    assert crm.exchanges == []


def test_a_foreign_state_changes_nothing(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client, account: Account
) -> None:
    start(nina_client)
    before = snapshot(account)

    page = answer(nina_client, code="good-code", state="someone-elses-state")

    assert "does not belong to your connection" in page
    assert snapshot(account) == before
    assert crm.exchanges == []


def test_an_expired_or_used_code_changes_nothing(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client, account: Account
) -> None:
    crm.spent_codes.add("old-code")
    params = start(nina_client)
    before = snapshot(account)

    page = answer(nina_client, code="old-code", state=params["state"])

    assert "invalid_grant: expired authorization code" in page
    assert snapshot(account) == before


def test_a_replayed_callback_changes_nothing(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client, account: Account
) -> None:
    params = start(nina_client)
    answer(nina_client, code="good-code", state=params["state"])
    before = snapshot(account)

    page = answer(nina_client, code="good-code", state=params["state"])

    assert "No connection to the CRM is in progress" in page
    assert snapshot(account) == before
    assert len(crm.exchanges) == 1


def test_a_policy_error_from_the_authorize_step_shows_the_crms_pair(
    upgraded: CrmConnection, nina_client: Client, account: Account
) -> None:
    params = start(nina_client)
    before = snapshot(account)

    page = answer(
        nina_client,
        error="invalid_app_access",
        error_description="user is not admin approved to access this app",
        state=params["state"],
    )

    assert "invalid_app_access: user is not admin approved to access this app" in page
    assert snapshot(account) == before


def test_a_user_the_jwt_bearer_flow_refuses_is_not_recorded(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client, account: Account
) -> None:
    crm.jwt_refusals[NINA_CRM] = NOT_ADMIN_APPROVED
    params = start(nina_client)
    before = snapshot(account)

    page = answer(nina_client, code="good-code", state=params["state"])

    assert "invalid_app_access: user is not admin approved to access this app" in page
    assert snapshot(account) == before


def test_a_crm_user_mapped_to_another_engagement_user_is_refused(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client, account: Account
) -> None:
    crm.code_identity = "maria@acme.test"  # the browser's CRM session was mia's
    params = start(nina_client)
    before = snapshot(account)

    page = answer(nina_client, code="good-code", state=params["state"])

    assert "maria@acme.test is already connected to another Engagement user (mia)" in page
    assert snapshot(account) == before


def test_a_crm_user_of_another_org_is_refused(
    upgraded: CrmConnection, crm: FakeCrm, nina_client: Client, account: Account
) -> None:
    crm.add("eve@other.test", "005000000000077AAA", org="00D000000000099AAA")
    crm.code_identity = "eve@other.test"
    params = start(nina_client)
    before = snapshot(account)

    page = answer(nina_client, code="good-code", state=params["state"])

    assert "Log in to the right org" in page
    assert snapshot(account) == before
    assert not ApiCallDay.objects.filter(crm_username="eve@other.test").exists()
    assert "jwt eve@other.test" not in crm.calls


def test_a_flow_older_than_the_codes_lifetime_is_refused(
    upgraded: CrmConnection, nina_client: Client, account: Account
) -> None:
    params = start(nina_client)
    before = snapshot(account)

    with time_machine.travel(timezone.now() + timedelta(minutes=16)):
        page = answer(nina_client, code="good-code", state=params["state"])

    assert "took too long" in page
    assert snapshot(account) == before


def test_connect_before_the_upgrade_is_refused(
    legacy: CrmConnection, nina_client: Client, account: Account
) -> None:
    before = snapshot(account)

    response = nina_client.post(CONNECT, follow=True)

    assert "once the account uses the Connected App" in response.content.decode()
    assert snapshot(account) == before
    assert "connect_user_connection" not in nina_client.session


def test_connect_when_already_connected_is_refused(
    upgraded: CrmConnection, marketer_client: Client, account: Account
) -> None:
    before = snapshot(account)

    response = marketer_client.post(CONNECT, follow=True)

    assert "You are already connected as maria@acme.test." in response.content.decode()
    assert snapshot(account) == before


# --- What each user sees ----------------------------------------------------------------------


def test_a_marketing_user_sees_only_their_own_connection(
    upgraded: CrmConnection, marketer_client: Client
) -> None:
    page = marketer_client.get(URL).content.decode()

    assert '<td id="my-crm-username">maria@acme.test</td>' in page
    assert "Connected (Connected App)" in page
    assert "mark@acme.test" not in page
    assert "system@acme.test" not in page
    assert 'id="connected-users"' not in page
    assert f'action="{CONNECT}"' not in page


def test_a_user_not_connected_sees_connect(upgraded: CrmConnection, nina_client: Client) -> None:
    page = nina_client.get(URL).content.decode()

    assert '<td id="my-state">Not connected</td>' in page
    assert f'action="{CONNECT}"' in page
    assert ">Connect</button>" in page


def test_a_pending_user_sees_connect_and_the_days_left(upgraded: CrmConnection) -> None:
    client = client_for(User.objects.get(username="max"))

    page = client.get(URL).content.decode()

    assert '<td id="my-state">Awaiting auto-connection</td>' in page
    assert '<td id="my-days-left">14 days left</td>' in page
    assert f'action="{CONNECT}"' in page


def test_the_admin_sees_every_user_with_state_and_days_left(
    upgraded: CrmConnection, nina: User, admin_client: Client
) -> None:
    page = admin_client.get(URL).content.decode()

    assert "<tr><td>nina</td><td></td><td>Not connected</td>" in page
    assert "<td>max</td><td>mark@acme.test</td><td>Awaiting auto-connection (14 days left)" in page
    assert "<td>mia</td><td>maria@acme.test</td><td>Connected (Connected App)</td>" in page
