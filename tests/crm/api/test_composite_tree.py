"""POST composite/tree/<SObject>: nested records with referenceIds, all or nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Account, Campaign, CampaignMember, Contact
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def _account(ref: str, name: str | None, contacts: list[dict[str, Any]]) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Account", "referenceId": ref}}
    if name is not None:
        record["Name"] = name
    if contacts:
        record["Contacts"] = {"records": contacts}
    return record


def _contact(ref: str, last_name: str | None) -> dict[str, Any]:
    record: dict[str, Any] = {"attributes": {"type": "Contact", "referenceId": ref}}
    if last_name is not None:
        record["LastName"] = last_name
    return record


def test_accounts_with_their_contacts(api: Api) -> None:
    response = api.post(
        "/composite/tree/Account",
        {
            "records": [
                _account(
                    "ref1", "Initech", [_contact("ref2", "Gibbons"), _contact("ref3", "Waddams")]
                ),
                _account("ref4", "Globex", []),
            ]
        },
    )

    assert response.status_code == 201
    body = response.json()
    assert body["hasErrors"] is False
    ids = {r["referenceId"]: r["id"] for r in body["results"]}
    assert list(ids) == ["ref1", "ref2", "ref3", "ref4"]
    initech = Account.objects.get(name="Initech")
    assert ids["ref1"] == initech.pk
    assert set(Contact.objects.filter(account=initech).values_list("id", flat=True)) == {
        ids["ref2"],
        ids["ref3"],
    }
    assert Account.objects.get(pk=ids["ref4"]).name == "Globex"


def test_three_levels_campaign_members(api: Api) -> None:
    campaign = api.post("/sobjects/Campaign", {"Name": "Spring"}).json()["id"]
    member = {
        "attributes": {"type": "CampaignMember", "referenceId": "m1"},
        "CampaignId": campaign,
    }
    contact = {**_contact("c1", "Lumbergh"), "CampaignMembers": {"records": [member]}}

    response = api.post(
        "/composite/tree/Account", {"records": [_account("a1", "Initech", [contact])]}
    )

    assert response.status_code == 201
    saved = CampaignMember.objects.get()
    assert saved.contact.last_name == "Lumbergh"
    assert saved.contact.account.name == "Initech"
    assert saved.campaign_id == Campaign.objects.get().pk


def test_one_bad_child_keeps_nothing(api: Api) -> None:
    response = api.post(
        "/composite/tree/Account",
        {
            "records": [
                _account("ref1", "Initech", [_contact("ref2", "Fine"), _contact("ref3", None)]),
                _account("ref4", "Globex", []),
            ]
        },
    )

    assert response.status_code == 400
    body = response.json()
    assert body["hasErrors"] is True
    assert body["results"] == [
        {
            "referenceId": "ref3",
            "errors": [
                {
                    "statusCode": "REQUIRED_FIELD_MISSING",
                    "message": "Required fields are missing: [LastName]",
                    "fields": ["LastName"],
                }
            ],
        }
    ]
    assert not Account.objects.exists()
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        {"records": []},
        {"records": [{"Name": "no attributes"}]},
        {"records": [{"attributes": {"type": "Contact", "referenceId": "x"}, "LastName": "Y"}]},
        {"records": [{"attributes": {"type": "Account"}, "Name": "no referenceId"}]},
        {"records": [_account("same", "A", []), _account("same", "B", [])]},
        {"records": [_account(f"r{i}", "A", []) for i in range(201)]},
        {"records": [_account("p", "A", [{"attributes": {"type": "Lead", "referenceId": "l"}}])]},
    ],
)
def test_malformed_trees_write_nothing(api: Api, body: Any) -> None:
    response = api.post("/composite/tree/Account", body)

    assert response.status_code == 400
    assert set(response.json()[0]) >= {"message", "errorCode"}
    assert not Account.objects.exists()
    assert not Contact.objects.exists()


def test_an_unknown_type_is_not_found(api: Api) -> None:
    response = api.post("/composite/tree/Widget", {"records": [_account("a", "A", [])]})

    assert response.status_code == 404
    assert not Account.objects.exists()
