"""Bodies the JSON parser cannot take (nested too deeply) are JSON_PARSER_ERROR, not a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Account, Contact


@pytest.mark.parametrize("body", ["[" * 100_000 + "]" * 100_000, '{"a":' * 5000 + "1" + "}" * 5000])
def test_deeply_nested_json_is_a_parser_error_and_writes_nothing(api: Any, body: str) -> None:
    response = api.client.post(
        "/services/data/v59.0/sobjects/Contact/",
        body,
        content_type="application/json",
        headers=api.headers,
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert not Contact.objects.exists()
    assert not Account.objects.exists()


def test_a_newline_in_the_path_is_salesforces_not_found(api: Any) -> None:
    response = api.get("/sobjects/%0A")

    assert response.status_code == 404
    assert response.json() == [
        {"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}
    ]
