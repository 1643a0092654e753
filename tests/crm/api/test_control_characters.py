"""NUL bytes in values are refused in Salesforce's error shape on every database."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tandem.crm.records.models import Contact
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_create_with_a_nul_byte_is_a_field_error(api: Api) -> None:
    response = api.post("/sobjects/Contact", {"LastName": "Love\u0000lace"})

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert response.json()[0]["fields"] == ["LastName"]
    assert not Contact.objects.exists()


def test_query_with_a_nul_byte_is_a_malformed_query(api: Api) -> None:
    soql = "SELECT Id FROM Contact WHERE LastName = 'a\u0000b'"

    response = api.get("/query?" + urlencode({"q": soql}))

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"
