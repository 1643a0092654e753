"""Semi-joins and anti-joins: `Id IN (SELECT ContactId FROM CampaignMember WHERE …)`."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Account, Campaign, CampaignMember, Contact
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


def _contact(org: Any, owner: Any, name: str, account: Any = None) -> Contact:
    return Contact.objects.create(org=org, owner=owner, last_name=name, name=name, account=account)


@pytest.fixture
def members(org: Any, admin: Any, other_org: Any, outsider: Any) -> dict[str, Contact]:
    """Ann responded to the Webinar, Bob was only sent it, Cy is in no campaign, Dee's membership
    is deleted. Globex (another org) has a campaign whose member ids name Acme's Cy."""
    webinar = Campaign.objects.create(org=org, owner=admin, name="Webinar")
    people = {n: _contact(org, admin, n) for n in ("Ann", "Bob", "Cy", "Dee")}
    CampaignMember.objects.create(
        org=org,
        owner=admin,
        campaign=webinar,
        contact=people["Ann"],
        status="Responded",
        has_responded=True,
    )
    CampaignMember.objects.create(
        org=org, owner=admin, campaign=webinar, contact=people["Bob"], status="Sent"
    )
    CampaignMember.objects.create(
        org=org,
        owner=admin,
        campaign=webinar,
        contact=people["Dee"],
        status="Sent",
        is_deleted=True,
    )
    foreign = Campaign.objects.create(org=other_org, owner=outsider, name="Globex")
    CampaignMember.objects.create(
        org=other_org, owner=outsider, campaign=foreign, contact=people["Cy"], status="Sent"
    )
    return people


def _names(api: Api, soql: str) -> list[str]:
    response = api.client.get(f"{V}/query", {"q": soql}, headers=api.headers)
    assert response.status_code == 200, response.content
    return [r["LastName"] for r in response.json()["records"]]


def test_semi_join_keeps_contacts_in_the_subquery(api: Api, members: Any) -> None:
    soql = (
        "SELECT LastName FROM Contact WHERE Id IN "
        "(SELECT ContactId FROM CampaignMember WHERE Campaign.Name = 'Webinar') ORDER BY LastName"
    )

    assert _names(api, soql) == ["Ann", "Bob"]


def test_semi_join_filters_inside(api: Api, members: Any) -> None:
    soql = (
        "SELECT LastName FROM Contact WHERE Id IN "
        "(SELECT ContactId FROM CampaignMember WHERE HasResponded = true)"
    )

    assert _names(api, soql) == ["Ann"]


def test_anti_join_keeps_the_rest_and_ignores_other_orgs_and_deleted_rows(
    api: Api, members: Any
) -> None:
    soql = (
        "SELECT LastName FROM Contact WHERE Id NOT IN "
        "(SELECT ContactId FROM CampaignMember) ORDER BY LastName"
    )

    assert _names(api, soql) == ["Cy", "Dee"]


def test_anti_join_on_a_reference_keeps_null_references(api: Api, org: Any, admin: Any) -> None:
    big = Account.objects.create(org=org, owner=admin, name="Big", number_of_employees=500)
    small = Account.objects.create(org=org, owner=admin, name="Small", number_of_employees=5)
    _contact(org, admin, "AtBig", big)
    _contact(org, admin, "AtSmall", small)
    _contact(org, admin, "Nowhere")
    inner = "(SELECT Id FROM Account WHERE NumberOfEmployees > 100)"

    assert _names(api, f"SELECT LastName FROM Contact WHERE AccountId IN {inner}") == ["AtBig"]
    assert _names(
        api, f"SELECT LastName FROM Contact WHERE AccountId NOT IN {inner} ORDER BY LastName"
    ) == ["AtSmall", "Nowhere"]


def test_two_joins_with_and_and_count(api: Api, members: Any) -> None:
    soql = (
        "SELECT COUNT() FROM Contact WHERE Id IN (SELECT ContactId FROM CampaignMember) "
        "AND Id NOT IN (SELECT ContactId FROM CampaignMember WHERE HasResponded = true)"
    )
    response = api.client.get(f"{V}/query", {"q": soql}, headers=api.headers)

    assert response.json()["totalSize"] == 1  # Bob


SUB = "(SELECT ContactId FROM CampaignMember)"


@pytest.mark.parametrize(
    ("where", "code", "message"),
    [
        (f"Id IN {SUB} OR LastName = 'x'", "MALFORMED_QUERY", "not allowed with the 'OR'"),
        (f"NOT Id IN {SUB}", "MALFORMED_QUERY", "not allowed with the 'NOT'"),
        (f"Id IN {SUB} AND Id IN {SUB} AND Id IN {SUB}", "MALFORMED_QUERY", "Maximum of 2"),
        (
            "Id IN (SELECT ContactId FROM CampaignMember"
            " WHERE ContactId IN (SELECT Id FROM Contact))",
            "MALFORMED_QUERY",
            "Nesting of semi join",
        ),
        (f"LastName IN {SUB}", "INVALID_FIELD", "only allowed on ID fields: LastName"),
        ("Id IN (SELECT Status FROM CampaignMember)", "INVALID_FIELD", "select ID fields: Status"),
        ("Id IN (SELECT Id FROM Contact)", "INVALID_TYPE", "should not be on the same object"),
        ("Id IN (SELECT Id FROM Widget)", "INVALID_TYPE", "sObject type 'Widget'"),
        ("Id IN (SELECT Nope FROM CampaignMember)", "INVALID_FIELD", "No such column 'Nope'"),
        (
            "Id IN (SELECT ContactId FROM CampaignMember ORDER BY Id)",
            "MALFORMED_QUERY",
            "unexpected token",
        ),
        (
            "Id IN (SELECT ContactId FROM CampaignMember LIMIT 1)",
            "MALFORMED_QUERY",
            "unexpected token",
        ),
    ],
)
def test_salesforce_restrictions_are_errors(api: Api, where: str, code: str, message: str) -> None:
    response = api.client.get(
        f"{V}/query", {"q": f"SELECT Id FROM Contact WHERE {where}"}, headers=api.headers
    )

    assert response.status_code == 400
    (error,) = response.json()
    assert error["errorCode"] == code
    assert message in error["message"]
