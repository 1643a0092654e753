"""Chunked requests refused before Django reads them get the error shape of their surface."""

from __future__ import annotations

import json
from xml.etree import ElementTree

import pytest

from tandem.crm.oauth.views.token import MAX_BODY_BYTES
from tandem.crm.refusals import crm_body_limit, crm_refusal


def test_the_oauth_endpoints_answer_an_oauth_error_pair() -> None:
    status, content_type, body = crm_refusal("/services/oauth2/token", 413, "too large")

    assert (status, content_type) == (400, "application/json")
    assert json.loads(body) == {"error": "invalid_request", "error_description": "too large"}


def test_the_rest_api_answers_salesforce_s_error_list() -> None:
    status, content_type, body = crm_refusal("/services/data/v62.0/sobjects/Account", 413, "big")

    assert (status, content_type) == (413, "application/json")
    assert json.loads(body) == [{"message": "big", "errorCode": "JSON_PARSER_ERROR"}]


def test_the_soap_api_answers_a_soap_fault() -> None:
    status, content_type, body = crm_refusal("/services/Soap/u/59.0", 413, "a <bad> body")

    assert status == 400
    assert content_type.startswith("text/xml")
    fault = ElementTree.fromstring(body).find(".//faultstring")
    assert fault is not None
    assert fault.text == "a <bad> body"


def test_pages_answer_plain_text() -> None:
    status, content_type, body = crm_refusal("/setup/", 400, "unsupported transfer coding")

    assert status == 400
    assert content_type.startswith("text/plain")
    assert body == b"unsupported transfer coding\n"


@pytest.mark.parametrize(
    ("path", "limit"),
    [
        ("/services/oauth2/token", MAX_BODY_BYTES),
        ("/services/data/v62.0/sobjects/Account", 2621440),
    ],
)
def test_the_body_limit_follows_the_surface(path: str, limit: int) -> None:
    assert crm_body_limit(path) == limit
