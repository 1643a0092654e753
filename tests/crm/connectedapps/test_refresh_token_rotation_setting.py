"""Enable Refresh Token Rotation: off for a new app, shown on its page, set on the Setup edit
page, by `tandem crm connectedapp create|update`, audited; refused changes change nothing."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.setup.models import SetupAuditTrail
from tests.crm.conftest import signed_in
from tests.crm.connectedapps.conftest import run_connectedapp
from tests.crm.oauth.conftest import CALLBACK, make_app


def _settings_form(**changes: object) -> dict[str, object]:
    return {
        "name": "Acme Integration",
        "callback_urls": CALLBACK,
        "oauth_scopes": ["api", "refresh_token"],
        "pkce_required": "on",
    } | changes


def test_a_new_app_does_not_rotate(org):
    assert make_app(org).app.refresh_token_rotation_enabled is False


def test_the_app_page_shows_the_setting(org, admin):
    app = make_app(org)

    page = signed_in(admin).get(f"/setup/connected-apps/{app.app.id}/").content.decode()

    assert "Enable Refresh Token Rotation" in page


def test_the_setup_edit_page_turns_it_on_and_audits(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(
        f"/setup/connected-apps/{app.app.id}/settings/",
        _settings_form(refresh_token_rotation_enabled="on"),
    )

    assert response.status_code == 302
    app.app.refresh_from_db()
    assert app.app.refresh_token_rotation_enabled is True
    [row] = SetupAuditTrail.objects.filter(action="connected_app.changed")
    assert (row.old_value["refresh_token_rotation"], row.new_value["refresh_token_rotation"]) == (
        False,
        True,
    )


def test_an_invalid_edit_leaves_rotation_as_it_was(org, admin):
    app = make_app(org)

    response = signed_in(admin).post(
        f"/setup/connected-apps/{app.app.id}/settings/",
        _settings_form(refresh_token_rotation_enabled="on", callback_urls="http://evil.example/"),
    )

    assert response.status_code == 200
    app.app.refresh_from_db()
    assert app.app.refresh_token_rotation_enabled is False
    assert not SetupAuditTrail.objects.filter(action="connected_app.changed").exists()


def test_the_command_line_turns_it_on_and_off(org):
    app = make_app(org)

    shown_on = run_connectedapp("update", "--org", "acme", app.key, "--refresh-token-rotation")
    shown_off = run_connectedapp("update", "--org", "acme", app.key, "--no-refresh-token-rotation")

    assert (shown_on["refresh_token_rotation"], shown_off["refresh_token_rotation"]) == (
        True,
        False,
    )
    assert SetupAuditTrail.objects.filter(action="connected_app.changed").count() == 2


def test_create_from_the_command_line_with_rotation(org):
    made = run_connectedapp(
        "create",
        "--org",
        "acme",
        "--name",
        "Rotating",
        "--callback-url",
        CALLBACK,
        "--refresh-token-rotation",
    )

    assert ConnectedApp.objects.get(pk=made["id"]).refresh_token_rotation_enabled is True


def test_another_org_cannot_change_it(org, other_org):
    app = make_app(org)
    from tandem.crm.connectedapps.services import connected_app_policy_ensure

    connected_app_policy_ensure(app=app.app, org=other_org)

    with pytest.raises(CommandError) as raised:
        run_connectedapp("update", "--org", "globex", app.key, "--refresh-token-rotation")

    assert raised.value.returncode == 2
    app.app.refresh_from_db()
    assert app.app.refresh_token_rotation_enabled is False
