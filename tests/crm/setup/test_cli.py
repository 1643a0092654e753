"""`tandem crm org|user|permset …`: results, and exit code 2 with a clear message on bad input."""

from __future__ import annotations

import json
from unittest.mock import patch

import pytest
from django.core.management import ManagementUtility

from tandem.crm.orgs.models import Org
from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
from tandem.crm.users.models import User

pytestmark = pytest.mark.django_db


def tandem_crm(*argv: str) -> int:
    """Run `tandem crm ARGV` in this process as the CLI does; return the exit code."""
    # run_from_argv closes every connection when it ends, which would cut the test's own.
    with patch("django.core.management.base.connections.close_all"):
        try:
            ManagementUtility(["tandem crm", *argv]).execute()
        except SystemExit as exc:
            return int(exc.code or 0)
    return 0


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    capsys.readouterr()  # drop earlier output
    assert tandem_crm(*argv, "--json") == 0
    return json.loads(capsys.readouterr().out)


def test_org_create_prints_ids_and_urls(
    capsys: pytest.CaptureFixture[str], settings: object
) -> None:
    settings.CRM_URL = "http://localhost:8001"  # type: ignore[attr-defined]

    out = run_json(capsys, "org", "create", "--name", "Acme", "--my-domain", "acme")

    org = Org.objects.get()
    assert out["org_id"] == org.id
    assert out["login_url"] == "http://acme.my.localhost:8001/login/"
    assert org.profiles.count() == 3


def test_user_create_prints_the_login_url_of_the_crm_s_own_port(
    capsys: pytest.CaptureFixture[str], settings: object, org: Org
) -> None:
    """The CRM's URL as this process knows it (TANDEM_CRM_URL, else the running stack's,
    tests/core/test_stack_record.py), never a fixed port."""
    settings.CRM_URL = "http://localhost:9123"  # type: ignore[attr-defined]

    out = run_json(
        capsys, "user", "create", "--org", "acme", "--username", "u@acme.test", "--last-name", "U"
    )

    assert out["login_url"] == "http://acme.my.localhost:9123/login/"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["org", "create", "--name", ""], "--name: Enter the org's name."),
        (["org", "create", "--name", "X", "--my-domain", "Bad Domain"], "--my-domain: Use 2 to"),
        (["org", "create"], "Missing option '--name'"),
        (["org", "delete"], "No such command 'delete'"),
    ],
)
def test_org_create_refuses_bad_input(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = tandem_crm(*argv)

    assert code == 2
    assert message in capsys.readouterr().err
    assert not Org.objects.exists()


def test_user_create_with_generated_password(capsys: pytest.CaptureFixture[str], org: Org) -> None:
    out = run_json(
        capsys,
        "user",
        "create",
        "--org",
        "acme",
        "--username",
        "sys@acme.test",
        "--last-name",
        "System",
        "--profile",
        "System Administrator",
        "--marketing-user",
        "--security-token",
    )

    user = User.objects.get(username="sys@acme.test")
    assert user.profile.name == "System Administrator"
    assert user.is_marketing_user
    assert user.check_password(str(out["password"]))
    assert len(str(out["security_token"])) == 24


def test_user_create_with_given_password_by_org_id(
    capsys: pytest.CaptureFixture[str], org: Org
) -> None:
    tandem_crm(
        "user",
        "create",
        "--org",
        org.id,
        "--username",
        "u@acme.test",
        "--last-name",
        "U",
        "--password",
        "s3cret-pass",
    )

    user = User.objects.get(username="u@acme.test")
    assert user.check_password("s3cret-pass")
    assert user.profile.name == "Standard User"
    assert "s3cret-pass" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--org", "nowhere", "--username", "a@b.test", "--last-name", "A"], "no org 'nowhere'"),
        (
            ["--org", "acme", "--username", "a@b.test", "--last-name", "A", "--profile", "Boss"],
            "--profile: no profile 'Boss'",
        ),
        (["--org", "acme", "--username", "not-an-email", "--last-name", "A"], "--username: Enter"),
        (
            ["--org", "acme", "--username", "admin@acme.test", "--last-name", "A"],
            "--username: This username is taken",
        ),
    ],
)
def test_user_create_refuses_bad_input(
    capsys: pytest.CaptureFixture[str], admin: User, argv: list[str], message: str
) -> None:
    count = User.objects.count()

    code = tandem_crm("user", "create", *argv)

    assert code == 2
    assert message in capsys.readouterr().err
    assert User.objects.count() == count


def test_permset_create_generates_the_api_name(
    capsys: pytest.CaptureFixture[str], org: Org
) -> None:
    out = run_json(
        capsys, "permset", "create", "--org", "Acme", "--label", "Marketing Cloud Connected App"
    )

    assert out["api_name"] == "Marketing_Cloud_Connected_App"
    assert PermissionSet.objects.filter(org=org, api_name="Marketing_Cloud_Connected_App").exists()


def test_permset_create_lists_every_violation(capsys: pytest.CaptureFixture[str], org: Org) -> None:
    code = tandem_crm(
        "permset", "create", "--org", "acme", "--label", "X", "--api-name", "Bad__Name_"
    )

    err = capsys.readouterr().err
    assert code == 2
    assert "--api-name: The API name can't end with an underscore." in err
    assert "--api-name: The API name can't contain two consecutive underscores." in err
    assert not PermissionSet.objects.exists()


def test_permset_create_refuses_an_api_name_taken_in_another_case(
    capsys: pytest.CaptureFixture[str], org: Org
) -> None:
    assert (
        tandem_crm(
            "permset", "create", "--org", "acme", "--label", "A", "--api-name", "Marketing_Cloud"
        )
        == 0
    )
    capsys.readouterr()

    code = tandem_crm(
        "permset", "create", "--org", "acme", "--label", "B", "--api-name", "MARKETING_cloud"
    )

    assert code == 2
    assert "--api-name: The API name is already in use in this org" in capsys.readouterr().err
    assert list(PermissionSet.objects.values_list("api_name", flat=True)) == ["Marketing_Cloud"]


def test_permset_assign(
    capsys: pytest.CaptureFixture[str], org: Org, system_user: User, marketer: User
) -> None:
    tandem_crm("permset", "create", "--org", "acme", "--label", "MC")

    out = run_json(
        capsys,
        "permset",
        "assign",
        "--org",
        "acme",
        "--permset",
        "MC",
        "--user",
        system_user.username,
        "--user",
        marketer.id,
    )

    assert sorted(out["assigned"]) == ["marketer@acme.test", "system@acme.test"]  # type: ignore[arg-type]
    assert PermissionSetAssignment.objects.count() == 2


def test_permset_assign_refuses_unknown_users_and_changes_nothing(
    capsys: pytest.CaptureFixture[str], org: Org, marketer: User, outsider: User
) -> None:
    tandem_crm("permset", "create", "--org", "acme", "--label", "MC")

    code = tandem_crm(
        "permset",
        "assign",
        "--org",
        "acme",
        "--permset",
        "MC",
        "--user",
        marketer.username,
        "--user",
        outsider.username,
    )

    assert code == 2
    assert "--user: no user 'admin@globex.test' in Acme" in capsys.readouterr().err
    assert not PermissionSetAssignment.objects.exists()


def test_permset_assign_refuses_unknown_permission_set(
    capsys: pytest.CaptureFixture[str], marketer: User
) -> None:
    code = tandem_crm(
        "permset", "assign", "--org", "acme", "--permset", "Nope", "--user", marketer.username
    )

    assert code == 2
    assert "--permset: no permission set 'Nope'" in capsys.readouterr().err


def test_the_tandem_command_exits_with_code_2(tmp_path: object) -> None:
    import os
    import subprocess
    import sys

    env = {**os.environ, "TANDEM_VAR_DIR": str(tmp_path), "TANDEM_SERVICE": "crm"}
    env.pop("TANDEM_CRM_DATABASE_URL", None)  # a fresh SQLite file: the check needs no data
    argv = [
        sys.executable,
        "-m",
        "tandem",
        "crm",
        "org",
        "create",
        "--name",
        "X",
        "--my-domain",
        "Bad Domain",
    ]

    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)

    assert done.returncode == 2
    assert "--my-domain: Use 2 to 40 lowercase letters" in done.stderr
    assert "Traceback" not in done.stderr
