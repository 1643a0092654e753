"""Permission Sets pages: New (errors beside their fields), Remove Assignments."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from tandem.crm.orgs.models import Org
from tandem.crm.permissions.models import PermissionSet, PermissionSetAssignment
from tandem.crm.permissions.services import permission_set_assign, permission_set_create
from tandem.crm.users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_admin(admin: User) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def test_new_shows_each_violation_beside_its_field(client_admin: Client) -> None:
    response = client_admin.post(
        reverse("crm_permissions:permission_set_new"), {"label": "x" * 81, "api_name": "9 bad__"}
    )

    form = response.context["form"]
    assert form.errors["label"] == ["The label can't be longer than 80 characters."]
    assert form.errors["api_name"] == [
        "The API name can contain only letters, digits and underscores.",
        "The API name must begin with a letter.",
        "The API name can't end with an underscore.",
        "The API name can't contain two consecutive underscores.",
    ]
    assert 'id="id_api_name_errors"' in response.content.decode()
    assert not PermissionSet.objects.exists()


def test_new_refuses_an_api_name_taken_in_another_case_beside_the_field(
    client_admin: Client, org: Org, admin: User
) -> None:
    permission_set_create(org=org, actor=admin, label="Marketing Cloud", api_name="Marketing_Cloud")

    response = client_admin.post(
        reverse("crm_permissions:permission_set_new"),
        {"label": "Other", "api_name": "marketing_cloud"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["api_name"] == [
        "The API name is already in use in this org: choose another."
    ]
    assert 'id="id_api_name_errors"' in response.content.decode()
    assert list(PermissionSet.objects.values_list("api_name", flat=True)) == ["Marketing_Cloud"]


def test_new_saves_and_opens_the_detail(client_admin: Client) -> None:
    response = client_admin.post(
        reverse("crm_permissions:permission_set_new"),
        {
            "label": "Marketing Cloud Connected App",
            "api_name": "Marketing_Cloud_Connected_App",
        },
    )

    created = PermissionSet.objects.get()
    assert response["Location"] == reverse(
        "crm_permissions:permission_set_detail", args=[created.id]
    )


def test_assign_without_a_choice_asks_for_one(client_admin: Client, org: Org, admin: User) -> None:
    permission_set = permission_set_create(org=org, actor=admin, label="A", api_name="A")
    url = reverse("crm_permissions:permission_set_add_assignments", args=[permission_set.id])

    response = client_admin.post(url, {})

    assert "Select at least one user to assign." in response.content.decode()
    assert not PermissionSetAssignment.objects.exists()


def test_remove_assignments(
    client_admin: Client, org: Org, admin: User, marketer: User, system_user: User
) -> None:
    permission_set = permission_set_create(org=org, actor=admin, label="A", api_name="A")
    permission_set_assign(actor=admin, permission_set=permission_set, users=[marketer, system_user])
    url = reverse("crm_permissions:permission_set_assignments", args=[permission_set.id])

    client_admin.post(url, {"user": [marketer.id]})

    assert [a.user for a in PermissionSetAssignment.objects.all()] == [system_user]
