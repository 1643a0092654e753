"""`tandem crm connectedapp link-profile`: pre-authorize a profile's users, or stop."""

from __future__ import annotations

import pytest
from django.core.management import CommandError

from tandem.crm.connectedapps.models import ConnectedAppAccess, ConnectedAppPolicy
from tandem.crm.connectedapps.services import connected_app_create
from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import ProfileName
from tests.crm.connectedapps.conftest import run_connectedapp


@pytest.fixture
def policy(org) -> ConnectedAppPolicy:
    app = connected_app_create(
        org=org,
        actor=None,
        name="Salesforce Sync",
        callback_urls=["https://sync.example/cb"],
        scopes=["api"],
    ).app
    return ConnectedAppPolicy.objects.get(app=app, org=org)


def _audits(org) -> list[SetupAuditTrail]:
    return list(SetupAuditTrail.objects.filter(org=org, action="connected_app.profiles_changed"))


def test_link_then_unlink_a_profile(org, policy):
    linked = run_connectedapp(
        "link-profile", "--org", "acme", "Salesforce Sync", "--profile", ProfileName.MARKETING_USER
    )
    twice = run_connectedapp(
        "link-profile", "--org", "acme", "Salesforce Sync", "--profile", ProfileName.MARKETING_USER
    )
    unlinked = run_connectedapp(
        "link-profile",
        "--org",
        "acme",
        policy.app.client_id,
        "--profile",
        ProfileName.MARKETING_USER,
        "--unlink",
    )

    assert linked["profiles"] == [ProfileName.MARKETING_USER]
    assert twice["profiles"] == [ProfileName.MARKETING_USER]
    assert unlinked["profiles"] == []
    changes = [(a.old_value, a.new_value) for a in _audits(org)]
    assert len(changes) == 3
    assert ([ProfileName.MARKETING_USER], []) in changes


def test_linking_keeps_the_other_profiles(org, policy):
    run_connectedapp(
        "link-profile", "--org", "acme", "Salesforce Sync", "--profile", ProfileName.STANDARD_USER
    )

    shown = run_connectedapp(
        "link-profile", "--org", "acme", "Salesforce Sync", "--profile", ProfileName.MARKETING_USER
    )

    assert shown["profiles"] == [ProfileName.MARKETING_USER, ProfileName.STANDARD_USER]


@pytest.mark.parametrize(
    "args",
    [
        ["--profile", "No Such Profile"],
        ["--org", "globex", "--profile", ProfileName.MARKETING_USER],
    ],
)
def test_unknown_profile_or_app_exits_2_and_changes_nothing(org, other_org, policy, args):
    org_args = [] if "--org" in args else ["--org", "acme"]

    with pytest.raises(CommandError) as raised:
        run_connectedapp("link-profile", *org_args, "Salesforce Sync", *args)

    assert raised.value.returncode == 2
    assert not ConnectedAppAccess.objects.exists()
    assert _audits(org) == []


def test_a_profile_of_another_org_is_not_found(org, other_org, policy):
    from tandem.crm.connectedapps.services import connected_app_policy_ensure

    connected_app_policy_ensure(app=policy.app, org=other_org)

    with pytest.raises(CommandError):
        run_connectedapp(
            "link-profile", "--org", "acme", "Salesforce Sync", "--profile", "Globex Only"
        )

    assert not ConnectedAppAccess.objects.exists()
