"""`tandem crm connectedapp …`: create, show, set-policy, link-permset; bad input exits 2."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppPolicy
from tandem.crm.oauth.crypto import secret_matches
from tandem.crm.permissions.services import permission_set_create
from tests.crm.oauth.jwtkeys import key_pair


def _run(*args: str) -> dict:
    out = io.StringIO()
    call_command("connectedapp", *args, stdout=out)
    return json.loads(out.getvalue())


def _create(org) -> dict:
    return _run("create", "--org", org.my_domain, "--name", "Salesforce Sync",
                "--callback-url", "https://sync.example/cb")  # fmt: skip


def test_create_prints_the_key_and_secret_once(org):
    created = _create(org)

    app = ConnectedApp.objects.get(pk=created["id"])
    assert app.client_id == created["consumer_key"]
    assert secret_matches(created["consumer_secret"], app.client_secret)


def test_create_with_a_certificate_file(org, tmp_path):
    pem = tmp_path / "cert.pem"
    pem.write_text(key_pair()[1])

    created = _run("create", "--org", org.id, "--name", "JWT", "--callback-url",
                   "https://x.example/cb", "--certificate-file", str(pem))  # fmt: skip

    assert ConnectedApp.objects.get(pk=created["id"]).certificate.startswith(
        "-----BEGIN CERTIFICATE"
    )


def test_set_policy_and_show(org):
    created = _create(org)

    shown = _run("set-policy", "--org", org.my_domain, created["id"], "--permitted-users",
                 "AdminApprovedPreAuthorized", "--ip-relaxation", "BYPASS",
                 "--refresh-token-policy", "zero")  # fmt: skip

    assert shown["permitted_users"] == "AdminApprovedPreAuthorized"
    assert shown["ip_relaxation"] == "BYPASS"
    assert shown["refresh_token_policy"] == "zero"


def test_link_and_unlink_a_permission_set(org):
    created = _create(org)
    permission_set_create(org=org, actor=None, label="MC", api_name="Marketing_Cloud")

    linked = _run(
        "link-permset",
        "--org",
        org.my_domain,
        "Salesforce Sync",
        "--permission-set",
        "Marketing_Cloud",
    )
    unlinked = _run("link-permset", "--org", org.my_domain, created["consumer_key"],
                    "--permission-set", "Marketing_Cloud", "--unlink")  # fmt: skip

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
        _run(*args)

    assert raised.value.returncode == 2
    assert list(ConnectedAppPolicy.objects.values()) == before
    assert ConnectedApp.objects.count() == 1


def test_the_real_command_exits_with_code_2_on_a_bad_choice(tmp_path):
    env = {**os.environ, "TANDEM_VAR_DIR": str(tmp_path), "TANDEM_SERVICE": "crm"}

    argv = [sys.executable, "-m", "tandem", "crm", "connectedapp", "set-policy", "--org", "x", "y",
            "--ip-relaxation", "SOMETIMES"]  # fmt: skip
    result = subprocess.run(argv,
                            env=env, capture_output=True, text=True, timeout=120)  # fmt: skip

    assert result.returncode == 2
