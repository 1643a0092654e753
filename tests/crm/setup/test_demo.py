"""The demo org seed (idempotent) and var/demo.json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tandem.cli.demo_crm import write_demo_json
from tandem.crm.connectedapps.models import ConnectedApp, ConnectedAppConsent
from tandem.crm.connectedapps.services import (
    MARKETING_CLOUD_KEY,
    connected_app_consent_grant,
    connected_app_permission_sets_set,
    connected_app_policy_ensure,
    connected_app_policy_set,
)
from tandem.crm.orgs.models import Org
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.permissions.services import permission_set_assign, permission_set_create
from tandem.crm.records.models import Campaign, Report
from tandem.crm.setup.demo import (
    CONNECTED_USERNAMES,
    DEMO_PASSWORD,
    DEPARTED,
    SYSTEM_USERNAME,
    demo_seed,
)
from tandem.crm.setup.demo_rehearsal import demo_departed_set, demo_upgrade_reset
from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import User
from tandem.crm.users.services import security_token_matches, user_authenticate_password

pytestmark = pytest.mark.django_db


def test_demo_seed_creates_the_org_and_its_logins() -> None:
    demo = demo_seed()

    roles = [u["role"] for u in demo["users"]]  # type: ignore[attr-defined]
    assert roles.count("admin") == 1
    assert roles.count("system_user") == 1
    assert roles.count("marketing_user") >= 2
    system = User.objects.get(username="mc-system@acme.demo")
    assert system.profile.name == "System Administrator"
    assert system.is_marketing_user
    assert Org.objects.get().allow_username_password_flows
    result = user_authenticate_password(
        username="admin@acme.demo", password=DEMO_PASSWORD, ip="127.0.0.1"
    )
    assert result.ok


def test_demo_seed_is_idempotent() -> None:
    first = demo_seed()

    second = demo_seed()

    assert Org.objects.count() == 1
    assert User.objects.count() == len(first["users"])  # type: ignore[arg-type]
    assert first["org"] == second["org"]
    assert "security_token" not in second["users"][1]  # type: ignore[index]


def test_demo_json_keeps_other_parts_and_the_first_token(tmp_path: Path) -> None:
    path = tmp_path / "demo.json"
    path.write_text(json.dumps({"engagement": {"url": "x"}}))
    first = {"users": [{"username": "s", "security_token": "T" * 24}], "org": {}}
    second = {"users": [{"username": "s"}], "org": {}}

    write_demo_json(path, first)
    write_demo_json(path, second)

    saved = json.loads(path.read_text())
    assert saved["engagement"] == {"url": "x"}
    assert saved["crm"]["users"][0]["security_token"] == "T" * 24


def test_connect_users_get_security_tokens_and_the_org_a_report_and_a_campaign() -> None:
    demo = demo_seed()

    users = {u["username"]: u for u in demo["users"]}  # type: ignore[attr-defined]
    with_tokens = sorted(name for name, u in users.items() if "security_token" in u)
    assert with_tokens == sorted([SYSTEM_USERNAME, *CONNECTED_USERNAMES])
    for name in with_tokens:
        user = User.objects.get(username=name)
        assert security_token_matches(user=user, token=users[name]["security_token"])
    records = demo["records"]
    assert records["report"]["name"] == "Contacts with email"  # type: ignore[index]
    assert records["campaign"]["members"] > 0  # type: ignore[index]
    campaigns, reports = Campaign.objects.count(), Report.objects.count()
    demo_seed()
    assert (Campaign.objects.count(), Report.objects.count()) == (campaigns, reports)


def test_a_reissued_token_replaces_the_old_one_and_others_are_kept() -> None:
    first = {u["username"]: u for u in demo_seed()["users"]}  # type: ignore[attr-defined]

    again = {u["username"]: u for u in demo_seed(reissue_tokens=("maria@acme.demo",))["users"]}  # type: ignore[attr-defined]

    maria = User.objects.get(username="maria@acme.demo")
    mark = User.objects.get(username="mark@acme.demo")
    assert set(u for u, e in again.items() if "security_token" in e) == {"maria@acme.demo"}
    assert security_token_matches(user=maria, token=again["maria@acme.demo"]["security_token"])
    assert not security_token_matches(user=maria, token=first["maria@acme.demo"]["security_token"])
    assert security_token_matches(user=mark, token=first["mark@acme.demo"]["security_token"])


def test_the_departed_user_is_made_inactive_and_active_again_audited() -> None:
    demo_seed()
    before = SetupAuditTrail.objects.count()

    assert demo_departed_set(active=False) is True
    assert demo_departed_set(active=False) is False

    assert not User.objects.get(username=DEPARTED).is_active
    assert SetupAuditTrail.objects.count() == before + 1
    assert demo_departed_set(active=True) is True
    assert User.objects.get(username=DEPARTED).is_active


def test_reset_undoes_the_crm_admins_steps() -> None:
    demo_seed()
    org = Org.objects.get()
    admin = User.objects.get(username="admin@acme.demo")
    app = ConnectedApp.objects.create(
        deployment_key=MARKETING_CLOUD_KEY,
        name="Salesforce Marketing Cloud",
        client_id="k",
        client_type=ConnectedApp.CLIENT_PUBLIC,
        redirect_uris="http://x/cb",
        authorization_grant_type=ConnectedApp.GRANT_AUTHORIZATION_CODE,
    )
    policy = connected_app_policy_ensure(app=app, org=org)
    permset = permission_set_create(
        org=org,
        actor=admin,
        label="Marketing Cloud Connected App",
        api_name="Marketing_Cloud_Connected_App",
    )
    kept = permission_set_create(org=org, actor=admin, label="Other", api_name="Other")
    maria = User.objects.get(username="maria@acme.demo")
    permission_set_assign(actor=admin, permission_set=permset, users=[maria])
    connected_app_permission_sets_set(actor=admin, policy=policy, permission_sets=[permset])
    connected_app_policy_set(
        actor=admin,
        policy=policy,
        permitted_users="AdminApprovedPreAuthorized",
        ip_relaxation="BYPASS",
        refresh_token_policy="zero",
    )
    connected_app_consent_grant(app=app, user=maria, scopes=["api"])

    done = demo_upgrade_reset()

    policy.refresh_from_db()
    assert done["permission_sets_deleted"] == ["Marketing_Cloud_Connected_App"]
    assert (policy.permitted_users, policy.ip_relaxation, policy.refresh_token_policy) == (
        "AllSelfAuthorized",
        "ENFORCE",
        "infinite",
    )
    assert not policy.access.exists()
    assert not ConnectedAppConsent.objects.filter(app=app).exists()
    assert list(PermissionSet.objects.values_list("api_name", flat=True)) == [kept.api_name]
    assert SetupAuditTrail.objects.filter(action="permission_set.deleted").count() == 1
