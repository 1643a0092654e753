"""`tandem crm connectedapp update`: the Setup edit rules, an audit row, exit 2 on bad input."""

from __future__ import annotations

import pytest
from django.core.management import CommandError
from django.forms.models import model_to_dict

from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import connected_app_create
from tandem.crm.setup.models import SetupAuditTrail
from tests.crm.connectedapps.conftest import run_connectedapp
from tests.crm.oauth.jwtkeys import key_pair


@pytest.fixture
def app(org) -> ConnectedApp:
    return connected_app_create(
        org=org,
        actor=None,
        name="Salesforce Sync",
        callback_urls=["https://sync.example/cb"],
        scopes=["api", "refresh_token"],
        contact_email="ops@acme.test",
    ).app


def _changes(org) -> list[SetupAuditTrail]:
    return list(SetupAuditTrail.objects.filter(org=org, action="connected_app.changed"))


def test_update_changes_only_the_given_settings_and_audits(org, app):
    shown = run_connectedapp(
        "update",
        "--org",
        "acme",
        "Salesforce Sync",
        "--name",
        "Sync v2",
        "--callback-url",
        "https://sync.example/a",
        "--callback-url",
        "https://sync.example/b",
        "--scopes",
        "api refresh_token id",
        "--no-pkce",
    )

    app.refresh_from_db()
    assert (app.name, app.contact_email) == ("Sync v2", "ops@acme.test")
    assert app.callback_urls == ["https://sync.example/a", "https://sync.example/b"]
    assert app.scope_list == ["api", "refresh_token", "id"]
    assert app.pkce_required is False
    assert shown["name"] == "Sync v2"
    [row] = _changes(org)
    assert row.actor is None
    assert row.old_value["name"] == "Salesforce Sync"
    assert row.new_value["callback_urls"] == ["https://sync.example/a", "https://sync.example/b"]


def test_update_sets_the_contact_email_and_the_certificate(org, app, tmp_path):
    pem = tmp_path / "cert.pem"
    pem.write_text(key_pair()[1])

    run_connectedapp(
        "update",
        "--org",
        org.id,
        app.client_id,
        "--contact-email",
        "it@acme.test",
        "--certificate-file",
        str(pem),
        "--pkce",
    )

    app.refresh_from_db()
    assert app.contact_email == "it@acme.test"
    assert app.certificate.startswith("-----BEGIN CERTIFICATE")
    assert app.pkce_required is True
    assert _changes(org)[0].new_value["certificate"] == "set"


@pytest.mark.parametrize(
    "args",
    [
        ["--name", ""],
        ["--name", "x" * 81],
        ["--contact-email", "not-an-email"],
        ["--callback-url", "http://evil.example/cb"],
        ["--callback-url", "https://ok.example/cb#frag"],
        ["--scopes", ""],
        ["--scopes", "api everything"],
        ["--certificate-file", "/nonexistent/cert.pem"],
        [],
    ],
)
def test_bad_input_exits_2_and_changes_nothing(org, app, args):
    before = model_to_dict(app)

    with pytest.raises(CommandError) as raised:
        run_connectedapp("update", "--org", "acme", "Salesforce Sync", *args)

    assert raised.value.returncode == 2
    assert "\n" not in str(raised.value)
    app.refresh_from_db()
    assert model_to_dict(app) == before
    assert _changes(org) == []


def test_a_file_that_is_not_a_certificate_is_refused(org, app, tmp_path):
    pem = tmp_path / "cert.pem"
    pem.write_text("-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n")

    with pytest.raises(CommandError) as raised:
        run_connectedapp(
            "update", "--org", "acme", "Salesforce Sync", "--certificate-file", str(pem)
        )

    assert raised.value.returncode == 2
    app.refresh_from_db()
    assert app.certificate == ""
    assert _changes(org) == []


def test_another_org_cannot_update_an_app_its_users_authorized(org, other_org, app):
    from tandem.crm.connectedapps.services import connected_app_policy_ensure

    connected_app_policy_ensure(app=app, org=other_org)

    with pytest.raises(CommandError) as raised:
        run_connectedapp("update", "--org", "globex", "Salesforce Sync", "--name", "Hijacked")

    assert raised.value.returncode == 2
    app.refresh_from_db()
    assert app.name == "Salesforce Sync"
    assert not SetupAuditTrail.objects.filter(action="connected_app.changed").exists()
