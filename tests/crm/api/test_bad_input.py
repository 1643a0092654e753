"""Bad input to the REST API: Salesforce's `[{"message","errorCode"}]` with a 4xx, never a 5xx,
and nothing written."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Account, Contact, IndividualEmailResult
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db
IER = "et4ae5__IndividualEmailResult__c"


def _post_raw(api: Api, path: str, raw: str | bytes) -> Any:
    return api.client.post(V + path, raw, content_type="application/json", headers=api.headers)


def _error(response: Any, status: int = 400) -> str:
    assert response.status_code == status
    body = response.json()
    assert isinstance(body, list)
    assert set(body[0]) >= {"message", "errorCode"}
    return str(body[0]["errorCode"])


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"Name": "A", "AnnualRevenue": 1e400}',
        '{"Name": "A", "AnnualRevenue": -1e400}',
        '{"Name": "A", "AnnualRevenue": 12345678901234567890123}',
        '{"Name": "A", "NumberOfEmployees": 12345678901234567890123}',
        '{"Name": "A", "NumberOfEmployees": 2147483648}',
        '{"Name": "A", "NumberOfEmployees": 1e400}',
        '{"Name": 1e400}',
    ],
)
def test_numbers_out_of_range_are_refused(api: Api, raw: str) -> None:
    assert _error(_post_raw(api, "/sobjects/Account", raw)) == "NUMBER_OUTSIDE_VALID_RANGE"
    assert not Account.objects.exists()


def test_the_largest_numbers_in_range_are_stored(api: Api) -> None:
    raw = '{"Name": "A", "NumberOfEmployees": 2147483647, "AnnualRevenue": 999999999999999900}'

    response = _post_raw(api, "/sobjects/Account", raw)

    assert response.status_code == 201
    account = Account.objects.get()
    assert account.number_of_employees == 2147483647
    assert account.annual_revenue == 999999999999999900.0


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api: Api, constant: str) -> None:
    raw = f'{{"Name": "A", "AnnualRevenue": {constant}}}'

    assert _error(_post_raw(api, "/sobjects/Account", raw)) == "JSON_PARSER_ERROR"
    assert not Account.objects.exists()


def test_an_update_out_of_range_changes_nothing(api: Api) -> None:
    account = api.post("/sobjects/Account", {"Name": "A", "NumberOfEmployees": 5}).json()["id"]

    response = api.client.patch(
        f"{V}/sobjects/Account/{account}",
        '{"Name": "B", "NumberOfEmployees": 1e400}',
        content_type="application/json",
        headers=api.headers,
    )

    assert _error(response) == "NUMBER_OUTSIDE_VALID_RANGE"
    saved = Account.objects.get()
    assert (saved.name, saved.number_of_employees) == ("A", 5)


def test_an_upsert_out_of_range_writes_nothing(api: Api) -> None:
    response = api.client.patch(
        f"{V}/sobjects/Account/External_Id__c/X-1",
        '{"Name": "A", "AnnualRevenue": 1e400}',
        content_type="application/json",
        headers=api.headers,
    )

    assert _error(response) == "NUMBER_OUTSIDE_VALID_RANGE"
    assert not Account.objects.exists()


def test_a_collection_with_an_out_of_range_number_writes_nothing(api: Api) -> None:
    raw = (
        '{"allOrNone": true, "records": [{"attributes": {"type": "Account"}, "Name": "A"},'
        ' {"attributes": {"type": "Account"}, "Name": "B", "NumberOfEmployees": 1e400}]}'
    )

    body = _post_raw(api, "/composite/sobjects", raw).json()

    assert body[1]["errors"][0]["statusCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert not Account.objects.exists()


def test_a_composite_subrequest_with_an_out_of_range_number(api: Api) -> None:
    raw = (
        '{"compositeRequest": [{"method": "POST", "url": "' + V + '/sobjects/Account",'
        ' "referenceId": "a", "body": {"Name": "A", "AnnualRevenue": 1e400}}]}'
    )

    result = _post_raw(api, "/composite", raw).json()["compositeResponse"][0]

    assert result["httpStatusCode"] == 400
    assert result["body"][0]["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert not Account.objects.exists()


def test_a_datetime_past_the_last_one_is_refused(api: Api) -> None:
    values = {"Name": "Send", "et4ae5__DateSent__c": "9999-12-31T23:59:00-23:59"}

    response = api.post(f"/sobjects/{IER}", values)

    assert _error(response) == "INVALID_TYPE_ON_FIELD_IN_RECORD"
    assert not IndividualEmailResult.objects.exists()


# --- NUL bytes and invalid Unicode -----------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "code"),
    [
        ({"Last\u0000Name": "x"}, "INVALID_FIELD"),
        ({"LastName": "x", "AccountId": "001\u0000"}, "MALFORMED_ID"),
        ({"LastName": "x", "Birthdate": "2000-01-01\u0000"}, "INVALID_TYPE_ON_FIELD_IN_RECORD"),
        ({"LastName": "x", "Email": "a@b.c\u0000"}, "INVALID_FIELD_FOR_INSERT_UPDATE"),
    ],
)
def test_nul_bytes_in_values_are_refused(api: Api, values: dict[str, str], code: str) -> None:
    assert _error(api.post("/sobjects/Contact", values)) == code
    assert not Contact.objects.exists()


def test_a_lone_surrogate_is_refused(api: Api) -> None:
    response = _post_raw(api, "/sobjects/Contact", '{"LastName": "a\\ud800b"}')

    assert _error(response) == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert not Contact.objects.exists()


@pytest.mark.parametrize(
    "path",
    ["/sobjects/Con%00tact", "/sobjects/Contact/003%00", "/sobjects/Contact/%00/x", "/qu%00ery"],
)
def test_nul_bytes_in_paths_are_not_found(api: Api, path: str) -> None:
    assert _error(api.client.get(V + path, headers=api.headers), 404) == "NOT_FOUND"


def test_nul_bytes_in_a_composite_url_are_not_found(api: Api) -> None:
    body = {
        "compositeRequest": [
            {
                "method": "POST",
                "url": V + "/sobjects/Contact\u0000",
                "referenceId": "a",
                "body": {"LastName": "x"},
            },
        ]
    }

    result = api.post("/composite", body).json()["compositeResponse"][0]

    assert result["httpStatusCode"] == 404
    assert not Contact.objects.exists()


def test_a_nul_in_a_fields_parameter_is_an_invalid_field(api: Api) -> None:
    contact = api.post("/sobjects/Contact", {"LastName": "x"}).json()["id"]

    response = api.get(f"/sobjects/Contact/{contact}?fields=Last%00Name")

    assert _error(response) == "INVALID_FIELD"


# --- malformed JSON --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "{nope",
        b"\xff\xfe",
        '{"LastName": "x"} trailing',
        '{"LastName": "x",}',
        "[" * 100_000 + "]" * 100_000,
        "1" * 5000,
    ],
)
def test_malformed_json_is_a_parser_error(api: Api, raw: str | bytes) -> None:
    assert _error(_post_raw(api, "/sobjects/Contact", raw)) == "JSON_PARSER_ERROR"
    assert not Contact.objects.exists()


@pytest.mark.parametrize("path", ["/composite", "/composite/batch", "/composite/tree/Contact"])
def test_malformed_json_to_the_composite_family(api: Api, path: str) -> None:
    assert _error(_post_raw(api, path, "{nope")) == "JSON_PARSER_ERROR"
    assert not Contact.objects.exists()


# --- Sforce-Query-Options --------------------------------------------------------------------


def _contacts(org: Any, owner: Any, n: int) -> None:
    Contact.objects.bulk_create(
        Contact(org=org, owner=owner, last_name=f"L{i:04d}", name=f"L{i:04d}") for i in range(n)
    )


@pytest.mark.parametrize(
    ("header", "batch"),
    [
        ("batchSize=\u00b2", 2000),
        ("batchSize=\u0663\u0660\u0660", 2000),  # Arabic-Indic 300: not ASCII digits
        ("batchSize=-1", 200),
        ("batchSize=99999999999999999999", 2000),
        ("batchSize=999999999999999999999999999999999999999", 2000),
        ("batchSize=250", 250),
        ("batchSize=", 2000),
        ("batchSize", 2000),
        ("=,==,batchSize=abc", 2000),
        ("garbage\u0000", 2000),
        (",,,", 2000),
    ],
)
def test_odd_query_options_never_fail(
    api: Api, org: Any, admin: Any, header: str, batch: int
) -> None:
    _contacts(org, admin, 2100)

    response = api.get("/query?q=SELECT+Id+FROM+Contact", **{"Sforce-Query-Options": header})

    assert response.status_code == 200
    assert len(response.json()["records"]) == batch
