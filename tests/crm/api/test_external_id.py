"""…/sobjects/<type>/<externalIdField>/<value>: GET and DELETE by external id, upsert keys."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Contact
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


def test_get_by_external_id(api: Api) -> None:
    created = api.post("/sobjects/Contact", {"LastName": "Ada", "External_Id__c": "E-1"}).json()

    response = api.get("/sobjects/Contact/External_Id__c/E-1")

    assert response.status_code == 200
    body = response.json()
    assert body["Id"] == created["id"]
    assert body["LastName"] == "Ada"
    assert body["attributes"] == {"type": "Contact", "url": f"{V}/sobjects/Contact/{created['id']}"}


def test_get_by_external_id_with_fields(api: Api) -> None:
    api.post("/sobjects/Contact", {"LastName": "Ada", "Email": "a@x.test", "External_Id__c": "E"})

    body = api.get("/sobjects/Contact/External_Id__c/E?fields=Email").json()

    assert body["Email"] == "a@x.test"
    assert "LastName" not in body


def test_get_by_id_as_the_field(api: Api) -> None:
    created = api.post("/sobjects/Contact", {"LastName": "Ada"}).json()["id"]

    assert api.get(f"/sobjects/Contact/Id/{created}").json()["Id"] == created


def test_no_match_is_not_found(api: Api) -> None:
    response = api.get("/sobjects/Contact/External_Id__c/none")

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_a_deleted_record_is_not_found(api: Api) -> None:
    api.post("/sobjects/Contact", {"LastName": "Ada", "External_Id__c": "gone"})
    api.delete("/sobjects/Contact/External_Id__c/gone")

    assert api.get("/sobjects/Contact/External_Id__c/gone").status_code == 404


def test_a_field_that_is_no_external_id_is_not_found(api: Api) -> None:
    api.post("/sobjects/Contact", {"LastName": "Ada"})

    response = api.get("/sobjects/Contact/LastName/Ada")

    assert response.status_code == 404
    assert "external ID field" in response.json()[0]["message"]


def test_another_orgs_record_is_not_found(api: Api, tokens: Any, outsider: Any) -> None:
    Api(tokens.issue(outsider)).post("/sobjects/Contact", {"LastName": "T", "External_Id__c": "X"})

    assert api.get("/sobjects/Contact/External_Id__c/X").status_code == 404


def test_delete_by_external_id(api: Api) -> None:
    api.post("/sobjects/Contact", {"LastName": "Ada", "External_Id__c": "E-1"})

    response = api.delete("/sobjects/Contact/External_Id__c/E-1")

    assert response.status_code == 204
    assert Contact.objects.get().is_deleted is True


def test_post_is_not_allowed(api: Api) -> None:
    response = api.post("/sobjects/Contact/External_Id__c/E-1", {"LastName": "x"})

    assert response.status_code == 405
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    ("key", "code"), [("a%00b", "INVALID_FIELD"), ("k" * 81, "STRING_TOO_LONG")]
)
def test_bad_upsert_keys_are_refused_and_write_nothing(api: Api, key: str, code: str) -> None:
    response = api.patch(f"/sobjects/Contact/External_Id__c/{key}", {"LastName": "x"})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == code
    assert not Contact.objects.exists()


@pytest.mark.parametrize("key", ["a%00b", "k" * 81])
def test_bad_keys_are_refused_on_get(api: Api, key: str) -> None:
    response = api.get(f"/sobjects/Contact/External_Id__c/{key}")

    assert response.status_code == 400
    assert set(response.json()[0]) >= {"message", "errorCode"}


def test_an_80_character_key_is_fine(api: Api) -> None:
    response = api.patch(f"/sobjects/Contact/External_Id__c/{'k' * 80}", {"LastName": "x"})

    assert response.status_code == 201
    assert Contact.objects.get().external_id == "k" * 80
