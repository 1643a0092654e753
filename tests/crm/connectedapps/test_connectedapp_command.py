"""`tandem crm connectedapp …`: create, show, set-policy, link-permset; bad input exits 2."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppPolicy
from tandem.crm.oauth.crypto import secret_matches
from tandem.crm.permissions.services import permission_set_create
from tests.crm.connectedapps.conftest import run_connectedapp
from tests.crm.oauth.jwtkeys import key_pair


def _create(org) -> dict:
    return run_connectedapp(
        "create",
        "--org",
        org.my_domain,
        "--name",
        "Salesforce Sync",
        "--callback-url",
        "https://sync.example/cb",
    )


def test_create_prints_the_key_and_secret_once(org):
    created = _create(org)

    app = ConnectedApp.objects.get(pk=created["id"])
    assert app.client_id == created["consumer_key"]
    assert secret_matches(created["consumer_secret"], app.client_secret)


def test_create_with_a_certificate_file(org, tmp_path):
    pem = tmp_path / "cert.pem"
    pem.write_text(key_pair()[1])

    created = run_connectedapp(
        "create",
        "--org",
        org.id,
        "--name",
        "JWT",
        "--callback-url",
        "https://x.example/cb",
        "--certificate-file",
        str(pem),
    )

    assert ConnectedApp.objects.get(pk=created["id"]).certificate.startswith(
        "-----BEGIN CERTIFICATE"
    )


def test_set_policy_and_show(org):
    created = _create(org)

    shown = run_connectedapp(
        "set-policy",
        "--org",
        org.my_domain,
        created["id"],
        "--permitted-users",
        "AdminApprovedPreAuthorized",
        "--ip-relaxation",
        "BYPASS",
        "--refresh-token-policy",
        "zero",
    )

    assert shown["permitted_users"] == "AdminApprovedPreAuthorized"
    assert shown["ip_relaxation"] == "BYPASS"
    assert shown["refresh_token_policy"] == "zero"


def test_link_and_unlink_a_permission_set(org):
    created = _create(org)
    permission_set_create(org=org, actor=None, label="MC", api_name="Marketing_Cloud")

    linked = run_connectedapp(
        "link-permset",
        "--org",
        org.my_domain,
        "Salesforce Sync",
        "--permission-set",
        "Marketing_Cloud",
    )
    unlinked = run_connectedapp(
        "link-permset",
        "--org",
        org.my_domain,
        created["consumer_key"],
        "--permission-set",
        "Marketing_Cloud",
        "--unlink",
    )

    assert linked["permission_sets"] == ["Marketing_Cloud"]
    assert unlinked["permission_sets"] == []


@pytest.mark.parametrize(
    "args",
    [
        ["show", "--org", "nope", "x"],
        ["show", "--org", "acme", "no-such-app"],
        ["create", "--org", "acme", "--name", "X", "--callback-url", "http://evil.example/cb"],
        ["set-policy", "--org", "acme", "Salesforce Sync", "--refresh-token-policy", "forever"],
        [
            "set-policy",
            "--org",
            "acme",
            "Salesforce Sync",
            "--refresh-token-policy",
            "specific_lifetime:0:DAYS",
        ],
        ["link-permset", "--org", "acme", "Salesforce Sync", "--permission-set", "Missing"],
    ],
)
def test_bad_input_is_a_usage_error_that_changes_nothing(org, args):
    _create(org)
    before = list(ConnectedAppPolicy.objects.values())

    with pytest.raises(CommandError) as raised:
        run_connectedapp(*args)

    assert raised.value.returncode == 2
    assert list(ConnectedAppPolicy.objects.values()) == before
    assert ConnectedApp.objects.count() == 1


def test_the_real_command_exits_with_code_2_on_a_bad_choice(tmp_path):
    env = {**os.environ, "TANDEM_VAR_DIR": str(tmp_path), "TANDEM_SERVICE": "crm"}

    argv = [
        sys.executable,
        "-m",
        "tandem",
        "crm",
        "connectedapp",
        "set-policy",
        "--org",
        "x",
        "y",
        "--ip-relaxation",
        "SOMETIMES",
    ]
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)

    assert result.returncode == 2
