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


def test_oversized_body_is_refused_and_changes_nothing(api: Api) -> None:
    response = api.post("/sobjects/Contact", {"LastName": "x" * 3_000_000})

    assert response.status_code == 413
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert Contact.objects.count() == 0


def test_invalid_json_is_a_parser_error(api: Api) -> None:
    response = api.client.post(
        "/services/data/v59.0/sobjects/Contact",
        "{nope",
        content_type="application/json",
        headers=api.headers,
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


@pytest.mark.parametrize(
    "bad_id",
    [
        "003000000000000",
        "003AAAAAAAAAAAAAAA",
        "001AAAAAAAAAAAAAAAAA",
        "003abc",
        "003aaaaaaaaaaaaAAA",
    ],
)
def test_bad_ids_are_not_found(api: Api, bad_id: str) -> None:
    assert api.patch(f"/sobjects/Contact/{bad_id}", {"LastName": "x"}).status_code == 404


def test_reference_to_the_wrong_object_is_refused(api: Api) -> None:
    other = api.post("/sobjects/Contact", {"LastName": "Other"}).json()["id"]

    response = api.post("/sobjects/Contact", {"LastName": "X", "AccountId": other})

    assert response.json()[0]["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert Contact.objects.count() == 1


def test_wrong_type_is_refused(api: Api) -> None:
    response = api.post("/sobjects/Contact", {"LastName": "X", "Birthdate": "not a date"})

    assert response.json()[0]["errorCode"] == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert Contact.objects.count() == 0


def test_read_only_field_is_refused(api: Api) -> None:
    response = api.post("/sobjects/Contact", {"LastName": "X", "Name": "Y"})

    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_deleted_record_shows_in_query_all(api: Api) -> None:
    contact_id = api.post("/sobjects/Contact", {"LastName": "Gone"}).json()["id"]
    api.delete(f"/sobjects/Contact/{contact_id}")

    body = api.get("/queryAll?q=SELECT+Id,+IsDeleted+FROM+Contact").json()

    assert body["records"][0]["IsDeleted"] is True


def test_unknown_resource_is_not_found_json(api: Api) -> None:
    response = api.get("/nothing/here")

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_unsupported_version_is_not_found(api: Api) -> None:
    response = api.client.get("/services/data/v12.0/limits", headers=api.headers)

    assert response.status_code == 404


def test_composite_delete(api: Api) -> None:
    ids = [api.post("/sobjects/Contact", {"LastName": f"D{i}"}).json()["id"] for i in range(2)]

    body = api.delete(f"/composite/sobjects?ids={','.join(ids)}&allOrNone=true").json()

    assert [r["success"] for r in body] == [True, True]
    assert Contact.objects.filter(is_deleted=False).count() == 0


def test_upsert_needs_an_external_id_field(api: Api) -> None:
    response = api.patch("/sobjects/Contact/LastName/Smith", {"FirstName": "X"})

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"
    assert Contact.objects.count() == 0


def test_composite_retrieve_answers_in_order_with_null_for_unknown_ids(
    tokens: Any, outsider: Any, api: Api
) -> None:
    first, second = (api.post("/sobjects/Contact", {"LastName": n}).json()["id"] for n in "AB")
    lead = api.post("/sobjects/Lead", {"LastName": "L", "Company": "C"}).json()["id"]
    theirs = Api(tokens.issue(outsider)).post("/sobjects/Contact", {"LastName": "T"}).json()["id"]
    ids = [second, "003nope", lead, first[:15], theirs]

    posted = api.post("/composite/sobjects/Contact", {"ids": ids, "fields": ["Id", "LastName"]})
    got = api.get(f"/composite/sobjects/Contact?ids={','.join(ids)}&fields=LastName")

    assert posted.status_code == 200
    assert [r and (r["Id"], r["LastName"]) for r in posted.json()] == [
        (second, "B"),
        None,
        None,
        (first, "A"),
        None,
    ]
    assert [r and r["LastName"] for r in got.json()] == ["B", None, None, "A", None]
    assert got.json()[0]["attributes"]["type"] == "Contact"


@pytest.mark.parametrize(
    "body",
    [
        {"ids": ["003x"]},
        {"fields": ["Id"]},
        {"ids": "003x", "fields": ["Id"]},
        {"ids": ["003x"], "fields": ["Shoe"]},
    ],
)
def test_composite_retrieve_refuses_a_bad_body(api: Api, body: dict[str, Any]) -> None:
    response = api.post("/composite/sobjects/Contact", body)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] in {
        "MISSING_ARGUMENT",
        "JSON_PARSER_ERROR",
        "INVALID_FIELD",
    }


def test_composite_retrieve_refuses_more_than_2000_ids(api: Api) -> None:
    response = api.post("/composite/sobjects/Contact", {"ids": ["003x"] * 2001, "fields": ["Id"]})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"


def _upsert_rows(*rows: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"attributes": {"type": "Contact"}, **row} for row in rows]


def test_composite_upsert_creates_and_updates_by_external_id(api: Api) -> None:
    existing = api.post("/sobjects/Contact", {"LastName": "Old", "External_Id__c": "K-1"})
    records = _upsert_rows(
        {"External_Id__c": "K-1", "LastName": "Updated"},
        {"External_Id__c": "K-2", "LastName": "Created"},
    )

    response = api.patch(
        "/composite/sobjects/Contact/External_Id__c", {"allOrNone": True, "records": records}
    )

    assert response.status_code == 200
    body = response.json()
    assert [(r["success"], r["created"], r["errors"]) for r in body] == [
        (True, False, []),
        (True, True, []),
    ]
    assert body[0]["id"] == existing.json()["id"]
    stored = {c.external_id: (c.pk, c.last_name) for c in Contact.objects.all()}
    assert stored == {"K-1": (body[0]["id"], "Updated"), "K-2": (body[1]["id"], "Created")}


@pytest.mark.parametrize(
    "bad",
    [
        {"LastName": "No key"},
        {"attributes": {"type": "Lead"}, "External_Id__c": "K-9"},
        {"Id": "003000000000000AAA", "External_Id__c": "K-9"},
        {"External_Id__c": ["K-9"]},
    ],
)
def test_composite_upsert_all_or_none_writes_nothing_when_one_record_fails(
    api: Api, bad: dict[str, Any]
) -> None:
    records = [
        *_upsert_rows({"External_Id__c": "K-1", "LastName": "Fine"}),
        {"attributes": {"type": "Contact"}, "LastName": "X", **bad},
    ]

    body = api.patch(
        "/composite/sobjects/Contact/External_Id__c", {"allOrNone": True, "records": records}
    ).json()

    assert [(r["success"], r["created"], r["id"]) for r in body] == [
        (False, False, None),
        (False, False, None),
    ]
    assert body[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert body[1]["errors"][0]["statusCode"] != "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert Contact.objects.count() == 0


def test_composite_upsert_without_all_or_none_keeps_the_good_records(api: Api) -> None:
    records = _upsert_rows({"External_Id__c": "K-1", "LastName": "Fine"}, {"LastName": "No key"})

    body = api.patch("/composite/sobjects/Contact/External_Id__c", {"records": records}).json()

    assert [r["success"] for r in body] == [True, False]
    assert body[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert list(Contact.objects.values_list("external_id", flat=True)) == ["K-1"]


def test_composite_upsert_by_a_field_that_is_no_external_id_writes_nothing(api: Api) -> None:
    records = _upsert_rows({"LastName": "Smith"})

    response = api.patch("/composite/sobjects/Contact/LastName", {"records": records})

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"
    assert Contact.objects.count() == 0
