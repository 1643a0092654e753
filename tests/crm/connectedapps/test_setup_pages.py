"""Setup → Connected Apps pages: authorization matrix, Edit/Save of the policies, links,
secret shown once, OAuth Usage with Revoke; bad input changes nothing."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.crm.connectedapps.models import (
    ConnectedApp,
    ConnectedAppAccess,
    ConnectedAppPolicy,
    ConnectedAppUsage,
)
from tandem.crm.oauth.crypto import secret_matches
from tandem.crm.oauth.models import AccessToken
from tandem.crm.permissions.services import permission_set_create
from tandem.crm.setup.models import SetupAuditTrail
from tests.crm.conftest import signed_in
from tests.crm.oauth.conftest import CALLBACK, jwt_token, make_app, pre_authorize
from tests.secrets_at_rest import assert_nowhere_in_database


def _pages(app_id: str) -> list[str]:
    base = "/setup/connected-apps/"
    return [
        base,
        f"{base}new/",
        f"{base}usage/",
        f"{base}{app_id}/",
        f"{base}{app_id}/edit/",
        f"{base}{app_id}/permission-sets/",
        f"{base}{app_id}/profiles/",
        f"{base}{app_id}/settings/",
    ]


def test_anonymous_is_sent_to_login(org):
    app = make_app(org)

    for url in _pages(app.app.id):
        response = signed_in().get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/"), url


def test_non_admin_is_forbidden(org, marketer):
    app = make_app(org)

    for url in _pages(app.app.id):
        assert signed_in(marketer).get(url).status_code == 403, url


def test_admin_of_another_org_never_sees_the_app(org, outsider):
    app = make_app(org)

    for url in _pages(app.app.id)[3:]:
        assert signed_in(outsider).get(url).status_code == 404, url
    assert app.app.name.encode() not in signed_in(outsider).get("/setup/connected-apps/").content


def test_admin_sees_every_page(org, admin):
    app = make_app(org)

    for url in _pages(app.app.id):
        assert signed_in(admin).get(url).status_code == 200, url


def test_new_app_shows_the_secret_once_and_stores_only_its_hash(org, admin):
    response = signed_in(admin).post(
        "/setup/connected-apps/new/",
        {
            "name": "Billing",
            "callback_urls": CALLBACK,
            "oauth_scopes": ["api", "refresh_token"],
            "pkce_required": "on",
        },
    )

    assert response.status_code == 200
    secret = response.context["secret"]
    app = ConnectedApp.objects.get(name="Billing")
    assert secret_matches(secret, app.client_secret)
    assert not secret_matches(secret[:-1] + ("0" if secret[-1] != "0" else "1"), app.client_secret)
    assert_nowhere_in_database(secret)
    assert ConnectedAppPolicy.objects.filter(app=app, org=org).exists()
    assert SetupAuditTrail.objects.filter(action="connected_app.created").exists()
    detail = signed_in(admin).get(f"/setup/connected-apps/{app.id}/")
    assert secret.encode() not in detail.content


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"name": "", "callback_urls": CALLBACK, "oauth_scopes": ["api"]}, "name"),
        (
            {"name": "X", "callback_urls": "http://evil.example/cb", "oauth_scopes": ["api"]},
            "callback_urls",
        ),
        (
            {"name": "X", "callback_urls": "https://a.example/*", "oauth_scopes": ["api"]},
            "callback_urls",
        ),
        ({"name": "X", "callback_urls": "", "oauth_scopes": ["api"]}, "callback_urls"),
        ({"name": "X", "callback_urls": CALLBACK}, "oauth_scopes"),
        (
            {
                "name": "X",
                "callback_urls": CALLBACK,
                "oauth_scopes": ["api"],
                "certificate": "junk",
            },
            "certificate",
        ),
    ],
)
def test_new_app_refuses_bad_input_next_to_the_field(org, admin, data, field):
    response = signed_in(admin).post("/setup/connected-apps/new/", data)

    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert not ConnectedApp.objects.exists()


def test_edit_and_save_the_policies(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(
        f"/setup/connected-apps/{app.app.id}/edit/",
        {
            "permitted_users": "AdminApprovedPreAuthorized",
            "ip_relaxation": "BYPASS",
            "refresh_token_policy": "specific_inactivity",
            "refresh_token_validity": "4",
            "refresh_token_unit": "HOURS",
            "session_timeout_minutes": "30",
        },
    )

    assert response.status_code == 302
    row = ConnectedAppPolicy.objects.get(app=app.app, org=org)
    assert row.as_policy().refresh_token_policy_value == "specific_inactivity:4:HOURS"
    assert row.permitted_users == "AdminApprovedPreAuthorized"
    assert row.session_timeout_minutes == 30
    trail = SetupAuditTrail.objects.get(action="connected_app.policy_changed")
    assert trail.old_value["ip_relaxation"] == "ENFORCE"
    assert trail.new_value["ip_relaxation"] == "BYPASS"


def test_timed_refresh_policy_without_n_is_refused(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(
        f"/setup/connected-apps/{app.app.id}/edit/",
        {
            "permitted_users": "AllSelfAuthorized",
            "ip_relaxation": "BYPASS",
            "refresh_token_policy": "specific_lifetime",
            "refresh_token_validity": "",
            "refresh_token_unit": "DAYS",
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["refresh_token_validity"]
    assert ConnectedAppPolicy.objects.get(app=app.app).ip_relaxation == "ENFORCE"


def test_manage_permission_sets_links_only_the_orgs_own_sets(org, other_org, admin):
    app = make_app(org)
    mine = permission_set_create(org=org, actor=None, label="MC", api_name="MC")
    theirs = permission_set_create(org=other_org, actor=None, label="Other", api_name="Other")

    signed_in(admin).post(
        f"/setup/connected-apps/{app.app.id}/permission-sets/",
        {"permission_set": [mine.id, theirs.id]},
    )

    linked = set(ConnectedAppAccess.objects.values_list("permission_set_id", flat=True))
    assert linked == {mine.id}


def test_usage_lists_token_holders_and_revoke_cuts_them_off(org, admin, system_user):
    app = make_app(org, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
    pre_authorize(app, system_user)
    client = Client(HTTP_HOST="localhost")
    assert jwt_token(client, app, system_user)[0] == 200
    usage = ConnectedAppUsage.objects.get()
    assert usage.use_count == 1

    page = signed_in(admin).get("/setup/connected-apps/usage/")
    assert system_user.username.encode() in page.content
    signed_in(admin).post(
        "/setup/connected-apps/usage/revoke/", {"app": app.app.id, "user": system_user.id}
    )

    assert not AccessToken.objects.exists()
    assert not ConnectedAppUsage.objects.exists()


def test_revoke_of_another_orgs_usage_is_refused(org, other_org, outsider, system_user):
    app = make_app(org, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
    pre_authorize(app, system_user)
    jwt_token(Client(HTTP_HOST="localhost"), app, system_user)

    response = signed_in(outsider).post(
        "/setup/connected-apps/usage/revoke/", {"app": app.app.id, "user": system_user.id}
    )

    assert response.status_code == 404
    assert AccessToken.objects.exists()


def test_rotating_the_secret_retires_the_old_one(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(f"/setup/connected-apps/{app.app.id}/secret/")

    app.app.refresh_from_db()
    assert not secret_matches(app.secret, app.app.client_secret)
    assert secret_matches(response.context["secret"], app.app.client_secret)


def test_user_sees_and_revokes_their_own_apps(org, system_user):
    app = make_app(org, permitted_users="AdminApprovedPreAuthorized", ip_relaxation="BYPASS")
    pre_authorize(app, system_user)
    jwt_token(Client(HTTP_HOST="localhost"), app, system_user)
    client = signed_in(system_user)

    assert app.app.name.encode() in client.get("/settings/connected-apps/").content
    client.post("/settings/connected-apps/revoke/", {"app": app.app.id})

    assert not AccessToken.objects.exists()


def test_owner_edits_the_app_settings_and_the_change_is_audited(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(
        f"/setup/connected-apps/{app.app.id}/settings/",
        {
            "name": "Acme Integration",
            "callback_urls": f"{CALLBACK}\nhttps://client.example/other",
            "oauth_scopes": ["api"],
            "contact_email": "ops@acme.test",
            "certificate": "",
        },
    )

    assert response.status_code == 302
    app.app.refresh_from_db()
    assert app.app.callback_urls == [CALLBACK, "https://client.example/other"]
    assert app.app.pkce_required is False
    assert app.app.certificate == ""
    assert SetupAuditTrail.objects.filter(action="connected_app.changed").exists()


def test_bad_settings_change_nothing(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(
        f"/setup/connected-apps/{app.app.id}/settings/",
        {
            "name": "X",
            "callback_urls": "http://evil.example/cb",
            "oauth_scopes": ["api"],
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors["callback_urls"]
    app.app.refresh_from_db()
    assert app.app.callback_urls == [CALLBACK]


def test_other_orgs_cannot_edit_an_app_they_only_use(org, other_org, outsider, admin):
    from tandem.crm.connectedapps.services import connected_app_policy_ensure

    app = make_app(org)
    connected_app_policy_ensure(app=app.app, org=other_org)

    response = signed_in(outsider).get(f"/setup/connected-apps/{app.app.id}/settings/")

    assert response.status_code == 404
