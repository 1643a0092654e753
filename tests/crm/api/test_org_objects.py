"""Organization, Profile and User through SOQL and sobjects/<X>: read-only, each org its own."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tandem.crm.orgs.models import Org
from tandem.crm.records.models import Account
from tandem.crm.users.models import Profile, User
from tests.crm.api.conftest import Api, Tokens, V

pytestmark = pytest.mark.django_db

SF_ORG_DISPLAY = (
    "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, "
    "OrganizationType FROM Organization"
)


def test_sf_org_display_query_returns_exactly_the_callers_org(
    api: Api, org: Org, other_org: Org
) -> None:
    response = api.client.get(
        "/services/data/v51.0/query", {"q": SF_ORG_DISPLAY}, headers=api.headers
    )

    assert response.status_code == 200
    body = response.json()
    assert body["totalSize"] == 1
    (row,) = body["records"]
    assert row == {
        "attributes": {
            "type": "Organization",
            "url": f"/services/data/v51.0/sobjects/Organization/{org.pk}",
        },
        "Name": "Acme",
        "InstanceName": "TND1",
        "IsSandbox": False,
        "TrialExpirationDate": None,
        "NamespacePrefix": None,
        "OrganizationType": "Enterprise Edition",
    }


def test_simple_salesforce_is_sandbox_query_with_trailing_slash_and_plus(api: Api) -> None:
    response = api.get("/query/?q=SELECT+IsSandbox+FROM+Organization+LIMIT+1")

    assert response.status_code == 200
    assert [r["IsSandbox"] for r in response.json()["records"]] == [False]


def test_organization_follows_the_org_row(api: Api, org: Org) -> None:
    Org.objects.filter(pk=org.pk).update(name="Acme Renamed")

    body = api.get("/query?q=SELECT+Id,+Name+FROM+Organization+WHERE+IsSandbox+=+false").json()

    assert [(r["Id"], r["Name"]) for r in body["records"]] == [(org.pk, "Acme Renamed")]


def test_sf_access_token_login_reads_the_user_by_id(api: Api, admin: User) -> None:
    response = api.client.get(f"/services/data/v51.0/sobjects/User/{admin.pk}", headers=api.headers)

    assert response.status_code == 200
    body = response.json()
    assert body["Username"] == "admin@acme.test"
    assert body["Id"] == admin.pk
    assert body["ProfileId"] == admin.profile_id
    assert body["Name"] == "admin"


def test_user_query_names_and_profile_hop(api: Api, admin: User, standard_user: User) -> None:
    User.objects.filter(pk=admin.pk).update(first_name="Ada", last_name="Lovelace")

    body = api.get(
        "/query?q=SELECT+Name,+Username,+Profile.Name+FROM+User+WHERE+Name+LIKE+'ada%25'"
    ).json()

    assert body["totalSize"] == 1
    (row,) = body["records"]
    assert row["Name"] == "Ada Lovelace"
    assert row["Username"] == "admin@acme.test"
    assert row["Profile"]["Name"] == "System Administrator"


def test_profiles_of_the_org_only(api: Api, org: Org, outsider: User) -> None:
    body = api.get("/query?q=SELECT+Id,+Name+FROM+Profile+ORDER+BY+Name").json()

    expected = list(Profile.objects.filter(org=org).order_by("name").values_list("pk", "name"))
    assert [(r["Id"], r["Name"]) for r in body["records"]] == expected
    assert len(expected) == 3


def test_describe_lists_organization_read_only(api: Api) -> None:
    body = api.get("/sobjects/Organization/describe").json()

    assert (body["createable"], body["updateable"], body["deletable"]) == (False, False, False)
    names = {f["name"] for f in body["fields"]}
    assert {"IsSandbox", "InstanceName", "OrganizationType", "TrialExpirationDate"} <= names


def test_owner_name_through_the_parent_hop(
    api: Api, org: Org, admin: User, standard_user: User
) -> None:
    """User.Name is computed by the database, also as Owner.Name in SELECT, WHERE and ORDER BY."""
    User.objects.filter(pk=admin.pk).update(first_name="Ada", last_name="Lovelace")
    User.objects.filter(pk=standard_user.pk).update(first_name="", last_name="Babbage")
    for owner, name in ((admin, "Engine"), (standard_user, "Mill"), (admin, "Notes")):
        Account.objects.create(org=org, owner=owner, name=name)

    body = api.get(
        "/query?q=SELECT+Name,+Owner.Name+FROM+Account+WHERE+Owner.Name+LIKE+'%25a%25'"
        "+ORDER+BY+Owner.Name+DESC,+Name"
    ).json()
    filtered = api.get("/query?q=SELECT+Name+FROM+Account+WHERE+Owner.Name+=+'Babbage'").json()

    assert [(r["Name"], r["Owner"]) for r in body["records"]] == [
        ("Mill", {"attributes": {"type": "User"}, "Name": "Babbage"}),
        ("Engine", {"attributes": {"type": "User"}, "Name": "Ada Lovelace"}),
        ("Notes", {"attributes": {"type": "User"}, "Name": "Ada Lovelace"}),
    ]
    assert [r["Name"] for r in filtered["records"]] == ["Mill"]


@pytest.mark.parametrize(
    ("method", "suffix", "verb"),
    [("post", "", "inserted"), ("patch", "/{id}", "updated"), ("delete", "/{id}", "deleted")],
)
@pytest.mark.parametrize("sobject", ["Organization", "Profile", "User"])
def test_writes_are_refused_and_change_nothing(
    api: Api, org: Org, admin: User, method: str, suffix: str, verb: str, sobject: str
) -> None:
    ids = {"Organization": org.pk, "Profile": admin.profile_id, "User": admin.pk}
    before = _snapshot(org)
    path = f"/sobjects/{sobject}" + suffix.format(id=ids[sobject])

    response = api.delete(path) if method == "delete" else getattr(api, method)(path, {"Name": "X"})

    assert response.status_code == 400
    assert response.json() == [
        {
            "message": f"entity type cannot be {verb}: {sobject}",
            "errorCode": "INVALID_TYPE_FOR_OPERATION",
            "fields": [],
        }
    ]
    assert _snapshot(org) == before


def _snapshot(org: Org) -> Any:
    return (
        list(Org.objects.values_list("pk", "name")),
        list(Profile.objects.filter(org=org).values_list("pk", "name")),
        list(User.objects.filter(org=org).values_list("pk", "username", "last_name")),
    )


def test_token_of_org_a_never_sees_org_b(tokens: Tokens, admin: User, outsider: User) -> None:
    """Attack: a token of Acme asks for Globex's org, profiles and users by query and by id."""
    api = Api(tokens.issue(admin))
    other = outsider.org

    for soql in (
        f"SELECT Id FROM Organization WHERE Id = '{other.pk}'",
        f"SELECT Id FROM Profile WHERE Id = '{outsider.profile_id}'",
        f"SELECT Id FROM User WHERE Id = '{outsider.pk}'",
        f"SELECT Id FROM User WHERE ProfileId = '{outsider.profile_id}'",
    ):
        body = api.client.get(f"{V}/query", {"q": soql}, headers=api.headers).json()
        assert body["totalSize"] == 0, soql
    for path in (
        f"/sobjects/Organization/{other.pk}",
        f"/sobjects/Profile/{outsider.profile_id}",
        f"/sobjects/User/{outsider.pk}",
    ):
        response = api.get(path)
        assert response.status_code == 404, path
    users = api.get("/query?q=SELECT+Username+FROM+User").json()["records"]
    assert [u["Username"] for u in users] == ["admin@acme.test"]
    assert Client().get(f"{V}/sobjects/User/{outsider.pk}").status_code == 401
