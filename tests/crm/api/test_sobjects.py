"""sobjects: describe, create, retrieve, update, delete, upsert; composite/sobjects."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Contact
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_describe_global_lists_contact(api: Api) -> None:
    body = api.get("/sobjects").json()

    assert {"Contact", "Lead", "Account", "et4ae5__IndividualEmailResult__c"} <= {
        o["name"] for o in body["sobjects"]
    }


def test_describe_contact_fields(api: Api) -> None:
    fields = {f["name"]: f for f in api.get("/sobjects/Contact/describe").json()["fields"]}

    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["LastName"]["nillable"] is False


def test_contact_create_retrieve_update_delete(api: Api) -> None:
    created = api.post("/sobjects/Contact", {"LastName": "Lovelace", "FirstName": "Ada"})
    contact_id = created.json()["id"]

    assert created.status_code == 201
    assert api.get(f"/sobjects/Contact/{contact_id}").json()["Name"] == "Ada Lovelace"
    assert api.patch(f"/sobjects/Contact/{contact_id}", {"Email": "ada@x.test"}).status_code == 204
    assert Contact.objects.get(pk=contact_id).email == "ada@x.test"
    assert api.delete(f"/sobjects/Contact/{contact_id}").status_code == 204
    assert api.get(f"/sobjects/Contact/{contact_id}").status_code == 404


def test_unknown_field_changes_nothing(api: Api) -> None:
    response = api.post("/sobjects/Contact", {"LastName": "X", "Shoe": 1})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"
    assert Contact.objects.count() == 0


def test_missing_required_field(api: Api) -> None:
    response = api.post("/sobjects/Contact", {"FirstName": "X"})

    assert response.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert Contact.objects.count() == 0


def test_malformed_id_is_not_found(api: Api) -> None:
    assert api.get("/sobjects/Contact/003abc").status_code == 404


def test_upsert_creates_then_updates(api: Api) -> None:
    first = api.patch("/sobjects/Contact/External_Id__c/E-1", {"LastName": "One"})
    second = api.patch("/sobjects/Contact/External_Id__c/E-1", {"LastName": "Two"})

    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert Contact.objects.get().last_name == "Two"


def test_composite_creates_200(api: Api) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": f"C{i}"} for i in range(200)]

    response = api.post("/composite/sobjects", {"allOrNone": True, "records": records})

    assert response.status_code == 200
    assert all(r["success"] for r in response.json())
    assert Contact.objects.count() == 200


def test_composite_refuses_201(api: Api) -> None:
    records = [{"attributes": {"type": "Contact"}, "LastName": f"C{i}"} for i in range(201)]

    response = api.post("/composite/sobjects", {"records": records})

    assert response.status_code == 400
    assert Contact.objects.count() == 0


def test_composite_all_or_none_rolls_back(api: Api) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "ok"},
        {"attributes": {"type": "Contact"}},
    ]

    body = api.post("/composite/sobjects", {"allOrNone": True, "records": records}).json()

    assert [r["success"] for r in body] == [False, False]
    assert body[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert Contact.objects.count() == 0


def test_composite_partial_success(api: Api) -> None:
    records = [
        {"attributes": {"type": "Contact"}, "LastName": "ok"},
        {"attributes": {"type": "Contact"}},
    ]

    body = api.post("/composite/sobjects", {"allOrNone": False, "records": records}).json()

    assert [r["success"] for r in body] == [True, False]
    assert Contact.objects.count() == 1


def test_other_org_cannot_update(tokens: Any, outsider: Any, api: Api) -> None:
    contact_id = api.post("/sobjects/Contact", {"LastName": "Mine"}).json()["id"]

    response = Api(tokens.issue(outsider)).patch(
        f"/sobjects/Contact/{contact_id}", {"LastName": "x"}
    )

    assert response.status_code == 404
    assert Contact.objects.get().last_name == "Mine"
