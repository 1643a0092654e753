"""Bad input to query: Salesforce's error body with a 400 (or a right answer), never a 5xx, and
nothing written. Each case here answered 500 before it was fixed."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.api.models import QueryLocator
from tandem.crm.records.models import Account, Contact
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


def _query(api: Api, soql: str, **headers: str) -> Any:
    return api.client.get(f"{V}/query", {"q": soql}, headers={**api.headers, **headers})


def _error(response: Any) -> dict[str, str]:
    assert response.status_code == 400, response.content
    (error,) = response.json()
    assert set(error) == {"message", "errorCode"}
    return error  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    "where",
    [
        "NumberOfEmployees = 123456789012345678901234567890",
        "NumberOfEmployees > 9223372036854775808",
        "NumberOfEmployees = -9223372036854775809",
        "NumberOfEmployees IN (1, 99999999999999999999999)",
        "AnnualRevenue = 1" + "0" * 400,
    ],
)
def test_numbers_no_column_holds_are_number_outside_valid_range(api: Api, where: str) -> None:
    error = _error(_query(api, f"SELECT Id FROM Account WHERE {where}"))

    assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"
    assert "ERROR at Row:1:Column:" in error["message"]


def test_the_largest_64_bit_numbers_still_work(api: Api, org: Any, admin: Any) -> None:
    Account.objects.create(org=org, owner=admin, name="Big", number_of_employees=2_000_000_000)

    response = _query(
        api,
        "SELECT Name FROM Account WHERE NumberOfEmployees < 9223372036854775807 "
        "AND NumberOfEmployees > -9223372036854775808",
    )

    assert [r["Name"] for r in response.json()["records"]] == ["Big"]


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("NumberOfEmployees >= 4.5", ["Five"]),
        ("NumberOfEmployees <= 4.5", ["Four"]),
        ("NumberOfEmployees < 3000000000", ["Five", "Four"]),
        ("NumberOfEmployees IN (4, 3000000000)", ["Four"]),
        ("NumberOfEmployees != 4294967300", ["Five", "Four"]),  # 4 once wrapped to 32 bits
    ],
)
def test_int_fields_compare_exactly_with_fractions_and_numbers_beyond_32_bits(
    api: Api, org: Any, admin: Any, where: str, expected: list[str]
) -> None:
    Account.objects.create(org=org, owner=admin, name="Four", number_of_employees=4)
    Account.objects.create(org=org, owner=admin, name="Five", number_of_employees=5)

    response = _query(api, f"SELECT Name FROM Account WHERE {where} ORDER BY Name")

    assert [r["Name"] for r in response.json()["records"]] == expected


@pytest.mark.parametrize(
    "where",
    [
        "Birthdate = 2026-02-30",
        "Birthdate = 2026-13-01",
        "Birthdate = 0000-01-01",
        "CreatedDate = 2026-13-01T00:00:00Z",
        "CreatedDate = 2026-01-01T25:00:00Z",
    ],
)
def test_impossible_dates_are_malformed(api: Api, where: str) -> None:
    assert _error(_query(api, f"SELECT Id FROM Contact WHERE {where}"))["errorCode"] == (
        "MALFORMED_QUERY"
    )


@pytest.mark.parametrize(
    "where",
    [
        "CreatedDate > 0001-01-01T00:00:00+14:00",  # before the first UTC instant
        "CreatedDate < 9999-12-31T23:59:59-14:00",  # after the last one
        "Birthdate = NEXT_N_YEARS:9000",
        "CreatedDate = LAST_N_YEARS:9000",
        "Birthdate = LAST_N_YEARS:3000",
    ],
)
def test_dates_beyond_the_calendar_are_number_outside_valid_range(api: Api, where: str) -> None:
    error = _error(_query(api, f"SELECT Id FROM Contact WHERE {where}"))

    assert error["errorCode"] == "NUMBER_OUTSIDE_VALID_RANGE"


def test_nul_bytes_are_malformed_in_text_and_raw(api: Api) -> None:
    in_literal = _query(api, "SELECT Id FROM Contact WHERE LastName = 'a\x00b'")
    raw = api.client.get(
        f"{V}/query?q=SELECT+Id+FROM+Contact+WHERE+LastName+%3D+%27%00%27", headers=api.headers
    )

    for response in (in_literal, raw):
        assert _error(response)["errorCode"] == "MALFORMED_QUERY"


def _people(org: Any, admin: Any) -> None:
    for name in ("x0", "x1499", "x2999", "other"):
        Contact.objects.create(org=org, owner=admin, last_name=name, name=name)


def test_3000_ors_answer_the_right_records(api: Api, org: Any, admin: Any) -> None:
    _people(org, admin)
    where = " OR ".join(f"LastName = 'x{i}'" for i in range(3000))

    response = _query(api, f"SELECT LastName FROM Contact WHERE {where} ORDER BY LastName")

    assert response.status_code == 200, response.content
    assert [r["LastName"] for r in response.json()["records"]] == ["x0", "x1499", "x2999"]


def test_1500_ors_of_likes_beyond_sqlites_expression_depth_work(
    api: Api, org: Any, admin: Any
) -> None:
    """LIKEs are not merged into one IN: this is the chunked path (SQLite stops at depth 1,000)."""
    _people(org, admin)
    where = " OR ".join(f"LastName LIKE 'x{i}'" for i in range(1500))

    response = _query(api, f"SELECT LastName FROM Contact WHERE {where} ORDER BY LastName")

    assert response.status_code == 200, response.content
    assert [r["LastName"] for r in response.json()["records"]] == ["x0", "x1499"]


def test_3000_ands_answer_the_right_records(api: Api, org: Any, admin: Any) -> None:
    _people(org, admin)
    where = " AND ".join(f"LastName != 'x{i}'" for i in range(3000))

    response = _query(api, f"SELECT LastName FROM Contact WHERE {where}")

    assert response.status_code == 200, response.content
    assert [r["LastName"] for r in response.json()["records"]] == ["other"]


def test_3000_ors_on_a_parent_field_answer_the_right_records(
    api: Api, org: Any, admin: Any
) -> None:
    acme = Account.objects.create(org=org, owner=admin, name="a2999")
    Contact.objects.create(org=org, owner=admin, last_name="In", name="In", account=acme)
    Contact.objects.create(org=org, owner=admin, last_name="Out", name="Out")
    where = " OR ".join(f"Account.Name = 'a{i}'" for i in range(3000))

    response = _query(api, f"SELECT LastName FROM Contact WHERE {where}")

    assert response.status_code == 200, response.content
    assert [r["LastName"] for r in response.json()["records"]] == ["In"]


@pytest.mark.parametrize("options", ["batchSize=²", "batchSize=٣٠٠", "batchSize=", "=,,batchSize"])
def test_odd_query_options_fall_back_to_the_default_batch(
    api: Api, org: Any, admin: Any, options: str
) -> None:
    _people(org, admin)

    response = _query(api, "SELECT Id FROM Contact", **{"Sforce-Query-Options": options})

    assert response.status_code == 200
    assert response.json()["totalSize"] == 4


def test_errors_write_nothing(api: Api) -> None:
    before = QueryLocator.objects.count()

    too_big = "SELECT Id FROM Account WHERE NumberOfEmployees = 1" + "0" * 30
    too_early = "SELECT Id FROM Contact WHERE CreatedDate > 0001-01-01T00:00:00+14:00"
    for soql in (too_big, too_early):
        _error(_query(api, soql))

    assert QueryLocator.objects.count() == before
