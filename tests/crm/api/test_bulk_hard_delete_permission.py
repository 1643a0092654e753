"""The Bulk API Hard Delete permission: hardDelete jobs are refused at creation unless the
user's profile or one of their permission sets grants it (System Administrator has it)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from tandem.crm.bulk.models import BulkJob
from tandem.crm.permissions.models import PermissionSet
from tandem.crm.permissions.services import permission_set_assign, permission_set_create
from tandem.crm.records.models import Contact
from tandem.crm.users.models import Profile, ProfileName
from tests.crm.api.bulk import ingest
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db

HARD_DELETE = {"object": "Contact", "operation": "hardDelete"}
REFUSAL = [
    {
        "errorCode": "FEATURENOTENABLED",
        "message": "FeatureNotEnabled : hardDelete operation requires special user profile "
        "permission, please contact your system administrator",
    }
]


@pytest.fixture
def standard_api(tokens: Any, standard_user: Any) -> Api:
    return Api(tokens.issue(standard_user))


def _grant_by_permission_set(org: Any, admin: Any, user: Any, *, grants: bool) -> None:
    permission_set = permission_set_create(
        org=org, actor=admin, label="Purgers", api_name="Purgers", bulk_api_hard_delete=grants
    )
    permission_set_assign(actor=admin, permission_set=permission_set, users=[user])


def test_a_user_without_the_permission_is_refused_and_nothing_is_stored(
    standard_api: Api,
) -> None:
    response = standard_api.post("/jobs/ingest", HARD_DELETE)

    assert response.status_code == 400
    assert response.json() == REFUSAL
    assert not BulkJob.objects.exists()


def test_the_same_user_may_still_soft_delete(standard_api: Api) -> None:
    response = standard_api.post("/jobs/ingest", {"object": "Contact", "operation": "delete"})

    assert response.status_code == 200
    assert response.json()["operation"] == "delete"


def test_a_system_administrator_has_it_by_default(api: Api) -> None:
    record_id = api.post("/sobjects/Contact", {"LastName": "Gone"}).json()["id"]

    job_id = ingest(api, f"Id\n{record_id}\n", **HARD_DELETE)

    assert api.get(f"/jobs/ingest/{job_id}").json()["state"] == "JobComplete"
    assert not Contact.objects.filter(pk=record_id).exists()


def test_a_permission_set_that_grants_it_lets_the_user_hard_delete(
    standard_api: Api, org: Any, admin: Any, standard_user: Any
) -> None:
    _grant_by_permission_set(org, admin, standard_user, grants=True)
    record_id = standard_api.post("/sobjects/Contact", {"LastName": "Gone"}).json()["id"]

    ingest(standard_api, f"Id\n{record_id}\n", **HARD_DELETE)

    assert not Contact.objects.filter(pk=record_id).exists()


def test_a_permission_set_without_it_does_not_grant_it(
    standard_api: Api, org: Any, admin: Any, standard_user: Any
) -> None:
    _grant_by_permission_set(org, admin, standard_user, grants=False)

    response = standard_api.post("/jobs/ingest", HARD_DELETE)

    assert response.status_code == 400
    assert response.json() == REFUSAL
    assert not BulkJob.objects.exists()


def test_a_profile_granted_the_permission_lets_its_users_hard_delete(
    standard_api: Api, org: Any
) -> None:
    Profile.objects.filter(org=org, name=ProfileName.STANDARD_USER).update(
        bulk_api_hard_delete=True
    )

    assert standard_api.post("/jobs/ingest", HARD_DELETE).status_code == 200


def test_new_orgs_grant_it_to_system_administrators_only(org: Any) -> None:
    granted = dict(Profile.objects.filter(org=org).values_list("name", "bulk_api_hard_delete"))

    assert granted == {
        ProfileName.SYSTEM_ADMINISTRATOR: True,
        ProfileName.STANDARD_USER: False,
        ProfileName.MARKETING_USER: False,
    }


def test_profiles_expose_it_through_soql(api: Api) -> None:
    body = api.get("/query?q=SELECT+Name,PermissionsBulkApiHardDelete+FROM+Profile").json()

    granted = {r["Name"]: r["PermissionsBulkApiHardDelete"] for r in body["records"]}
    assert granted[ProfileName.SYSTEM_ADMINISTRATOR] is True
    assert granted[ProfileName.STANDARD_USER] is False


def test_the_new_permission_set_page_saves_the_permission(admin: Any) -> None:
    client = Client()
    client.force_login(admin)

    response = client.post(
        reverse("crm_permissions:permission_set_new"),
        {
            "label": "Purgers",
            "api_name": "Purgers",
            "bulk_api_hard_delete": "on",
        },
    )

    assert response.status_code == 302
    assert PermissionSet.objects.get(api_name="Purgers").bulk_api_hard_delete is True
    detail = client.get(response["Location"]).content.decode()
    assert "<dt>Bulk API Hard Delete</dt><dd>Enabled</dd>" in detail
