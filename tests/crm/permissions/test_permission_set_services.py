"""Permission set services: create (every rule), assign, unassign, audited, org-scoped."""

from __future__ import annotations

import pytest
from django.http import Http404

from tandem.crm.orgs.models import Org
from tandem.crm.permissions.errors import PermissionSetInvalidError
from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
from tandem.crm.permissions.selectors import permission_set_get_for_actor, permission_set_list
from tandem.crm.permissions.services import (
    permission_set_assign,
    permission_set_create,
    permission_set_unassign,
)
from tandem.crm.setup.models import SetupAuditTrail
from tandem.crm.users.models import User


def create(org: Org, actor: User | None = None, **kwargs: str) -> PermissionSet:
    kwargs.setdefault("label", "Marketing Cloud Connected App")
    kwargs.setdefault("api_name", "Marketing_Cloud_Connected_App")
    return permission_set_create(org=org, actor=actor, **kwargs)


def test_create_saves_and_audits(org: Org, admin: User) -> None:
    created = create(org, admin)

    assert created.id.startswith("0PS")
    audit = SetupAuditTrail.objects.get(action="permission_set.created")
    assert (audit.actor, audit.actor_label, audit.target) == (
        admin,
        "admin@acme.test",
        "Marketing Cloud Connected App",
    )
    assert audit.new_value["api_name"] == "Marketing_Cloud_Connected_App"


def test_create_refuses_every_violation_and_changes_nothing(org: Org, admin: User) -> None:
    audit_before = SetupAuditTrail.objects.count()

    with pytest.raises(PermissionSetInvalidError) as raised:
        create(org, admin, label="x" * 81, api_name="Bad__Name_")

    assert raised.value.errors == {
        "label": ["The label can't be longer than 80 characters."],
        "api_name": [
            "The API name can't end with an underscore.",
            "The API name can't contain two consecutive underscores.",
        ],
    }
    assert not PermissionSet.objects.exists()
    assert SetupAuditTrail.objects.count() == audit_before


def test_api_name_is_unique_in_the_org_only(org: Org, other_org: Org) -> None:
    create(org)
    create(other_org)

    with pytest.raises(PermissionSetInvalidError) as raised:
        create(org, label="Another")

    assert raised.value.errors["api_name"] == [
        "The API name is already in use in this org: choose another."
    ]
    assert PermissionSet.objects.count() == 2


def test_assign_adds_each_user_once_and_audits(
    org: Org, admin: User, system_user: User, marketer: User
) -> None:
    permission_set = create(org, admin)
    permission_set_assign(actor=admin, permission_set=permission_set, users=[system_user])

    created = permission_set_assign(
        actor=admin, permission_set=permission_set, users=[system_user, marketer]
    )

    assert [a.user for a in created] == [marketer]
    assert PermissionSetAssignment.objects.count() == 2
    audit = SetupAuditTrail.objects.filter(action="permission_set.assigned").first()
    assert audit is not None
    assert audit.old_value == ["system@acme.test"]
    assert audit.new_value == ["marketer@acme.test"]


def test_assign_refuses_users_of_another_org(org: Org, admin: User, outsider: User) -> None:
    permission_set = create(org, admin)

    with pytest.raises(PermissionSetInvalidError):
        permission_set_assign(actor=admin, permission_set=permission_set, users=[outsider])

    assert not PermissionSetAssignment.objects.exists()


def test_unassign_removes_and_audits(org: Org, admin: User, marketer: User) -> None:
    permission_set = create(org, admin)
    permission_set_assign(actor=admin, permission_set=permission_set, users=[marketer])

    removed = permission_set_unassign(actor=admin, permission_set=permission_set, users=[marketer])

    assert removed == 1
    assert not PermissionSetAssignment.objects.exists()
    assert SetupAuditTrail.objects.filter(action="permission_set.unassigned").exists()


def test_selectors_never_cross_orgs(org: Org, admin: User, outsider: User) -> None:
    permission_set = create(org, admin)

    assert list(permission_set_list(actor=outsider)) == []
    with pytest.raises(Http404):
        permission_set_get_for_actor(actor=outsider, id=permission_set.id)
    assert permission_set_get_for_actor(actor=admin, id=permission_set.id) == permission_set


def test_api_name_is_unique_whatever_its_case(org: Org, other_org: Org) -> None:
    create(org, api_name="Marketing_Cloud")
    create(other_org, api_name="marketing_cloud")

    with pytest.raises(PermissionSetInvalidError) as raised:
        create(org, label="Another", api_name="marketing_cloud")

    assert raised.value.errors == {
        "api_name": ["The API name is already in use in this org: choose another."]
    }
    assert sorted(PermissionSet.objects.values_list("api_name", flat=True)) == [
        "Marketing_Cloud",
        "marketing_cloud",
    ]


def test_the_database_refuses_a_case_variant_that_skipped_the_check(org: Org) -> None:
    """A concurrent create passes the check before the other commits; the constraint holds."""
    from django.db import IntegrityError, transaction

    create(org, api_name="Marketing_Cloud")

    with pytest.raises(IntegrityError), transaction.atomic():
        PermissionSet.objects.create(org=org, label="B", api_name="MARKETING_CLOUD")
    assert PermissionSet.objects.filter(org=org).count() == 1
