"""The authorize page: who and which org, log in as someone else, prompt=login, Allow/Deny
recorded durably, the error page for a user an admin-approved app does not admit."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from django.test import Client

from tandem.crm.connectedapps.models import ConnectedAppConsent
from tandem.crm.oauth.models import Grant
from tandem.crm.users.models import LoginHistory
from tests.crm.oauth.conftest import CALLBACK, make_app, pkce_pair


def _get(client: Client, app, **extra):
    _, challenge = pkce_pair()
    params = {
        "response_type": "code",
        "client_id": app.key,
        "redirect_uri": CALLBACK,
        "state": "st8",
        "code_challenge": challenge,
        **extra,
    }
    return client.get("/services/oauth2/authorize", params)


def _logged_in(user) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def test_anonymous_is_sent_to_the_login_page(org):
    app = make_app(org)

    response = _get(Client(HTTP_HOST="localhost"), app)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_consent_page_names_the_user_and_the_org(org, marketer):
    app = make_app(org)

    response = _get(_logged_in(marketer), app)

    text = response.content.decode()
    assert response.status_code == 200
    assert "Allow Access?" in text
    assert marketer.username in text
    assert org.name in text
    assert org.id in text
    assert "Log in as someone else" in text


def test_allow_records_a_durable_consent_and_is_not_asked_again(org, marketer):
    app = make_app(org)
    client = _logged_in(marketer)
    page = _get(client, app, scope="api")
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}

    client.post("/services/oauth2/authorize", {**data, "allow": "Authorize"})
    again = _get(client, app, scope="api")

    assert ConnectedAppConsent.objects.filter(app=app.app, user=marketer).exists()
    assert again.status_code == 302
    assert "code=" in again["Location"]


def test_deny_returns_access_denied_with_the_state_and_records_nothing(org, marketer):
    app = make_app(org)
    client = _logged_in(marketer)
    page = _get(client, app)
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}

    response = client.post("/services/oauth2/authorize", data)

    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["st8"]
    assert not ConnectedAppConsent.objects.exists()
    assert not Grant.objects.exists()


def test_prompt_login_ends_the_session_and_asks_to_log_in(org, marketer):
    app = make_app(org)
    client = _logged_in(marketer)

    response = _get(client, app, prompt="login")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
    assert "prompt" not in response["Location"]
    assert "_auth_user_id" not in client.session


def test_log_in_as_someone_else_ends_the_session(org, marketer):
    client = _logged_in(marketer)
    nxt = "/services/oauth2/authorize?response_type=code&client_id=x"

    response = client.post("/services/oauth2/authorize/switch-user", {"next": nxt})

    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert "_auth_user_id" not in client.session


def test_log_in_as_someone_else_does_not_redirect_elsewhere(org, marketer):
    response = _logged_in(marketer).post(
        "/services/oauth2/authorize/switch-user", {"next": "https://evil.example/"}
    )

    assert "evil.example" not in response["Location"]


def test_not_pre_authorized_user_gets_the_error_page_and_the_callback_error(org, marketer):
    app = make_app(org, permitted_users="AdminApprovedPreAuthorized")

    response = _get(_logged_in(marketer), app)

    assert response.status_code == 400
    text = response.content.decode()
    assert "user is not admin approved to access this app" in text
    callback = response.context["callback"]
    assert callback.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(callback).query)
    assert query["error"] == ["invalid_app_access"]
    assert query["state"] == ["st8"]
    assert LoginHistory.objects.filter(
        user=marketer, status="Failed: Not approved for access"
    ).exists()
    assert not Grant.objects.exists()


def test_a_session_of_another_org_is_not_used_on_a_my_domain_host(org, other_org, outsider):
    app = make_app(org)
    client = Client(HTTP_HOST="acme.my.localhost")
    client.force_login(outsider)

    response = _get(client, app)

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_tampered_scopes_on_allow_are_neither_granted_nor_remembered(org, marketer):
    app = make_app(org)
    client = _logged_in(marketer)
    page = _get(client, app, scope="api")
    data = {k: v for k, v in page.context["form"].initial.items() if v is not None}

    response = client.post(
        "/services/oauth2/authorize", {**data, "scope": "api full", "allow": "Authorize"}
    )

    assert "code=" not in response["Location"]
    assert "error=invalid_scope" in response["Location"]
    assert ConnectedAppConsent.objects.get(app=app.app, user=marketer).scopes == "api"
    assert not Grant.objects.exists()
