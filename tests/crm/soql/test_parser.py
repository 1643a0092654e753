"""SOQL text → syntax tree, and Salesforce's MALFORMED_QUERY for what it rejects."""

from __future__ import annotations

import pytest

from tandem.crm.soql import SoqlError, ast, parse


def test_reads_fields_object_and_clauses() -> None:
    query = parse(
        "select Id, Account.Name from Contact where LastName = 'x' order by Id limit 5 offset 2"
    )

    assert [f.parts for f in query.fields] == [("Id",), ("Account", "Name")]
    assert query.sobject == "Contact"
    assert query.limit == 5
    assert query.offset == 2
    assert isinstance(query.where, ast.Comparison)


def test_count_has_no_fields() -> None:
    query = parse("SELECT COUNT() FROM Lead")

    assert query.is_count
    assert query.fields == ()


def test_mixing_and_with_or_needs_parentheses() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FROM Contact WHERE A = 1 AND B = 2 OR C = 3")

    assert caught.value.error_code == "MALFORMED_QUERY"
    assert caught.value.message.endswith("unexpected token: 'OR'")


def test_parenthesised_mix_is_accepted() -> None:
    query = parse("SELECT Id FROM Contact WHERE (A = 1 AND B = 2) OR C = 3")

    assert isinstance(query.where, ast.Or)


def test_missing_object_reports_eof_with_position() -> None:
    with pytest.raises(SoqlError) as caught:
        parse("SELECT Id FROM")

    assert caught.value.message == (
        "\nSELECT Id FROM\n              ^\nERROR at Row:1:Column:15\nunexpected token: <EOF>"
    )


def test_string_escapes_are_decoded() -> None:
    query = parse(r"SELECT Id FROM Contact WHERE LastName = 'O\'Brien\\'")

    assert isinstance(query.where, ast.Comparison)
    assert query.where.value.value == "O'Brien\\"


def test_unknown_escape_is_malformed() -> None:
    with pytest.raises(SoqlError) as caught:
        parse(r"SELECT Id FROM Contact WHERE LastName = 'a\q'")

    assert caught.value.error_code == "MALFORMED_QUERY"


@pytest.mark.parametrize(
    ("literal", "unit", "start", "length"),
    [
        ("TODAY", "day", 0, 1),
        ("LAST_N_DAYS:7", "day", -7, 8),
        ("NEXT_N_WEEKS:2", "week", 1, 2),
        ("N_MONTHS_AGO:3", "month", -3, 1),
        ("last_year", "year", -1, 1),
    ],
)
def test_date_literals(literal: str, unit: str, start: int, length: int) -> None:
    query = parse(f"SELECT Id FROM Contact WHERE CreatedDate = {literal}")

    assert isinstance(query.where, ast.Comparison)
    value = query.where.value.value
    assert isinstance(value, ast.DateRange)
    assert (value.unit, value.start, value.length) == (unit, start, length)


def test_order_defaults_follow_salesforce() -> None:
    query = parse("SELECT Id FROM Contact ORDER BY LastName, Email DESC, Id ASC NULLS LAST")

    assert [(o.descending, o.nulls_first) for o in query.order_by] == [
        (False, True),
        (True, False),
        (False, False),
    ]


def test_deep_nesting_is_an_error_not_a_crash() -> None:
    text = "SELECT Id FROM Contact WHERE " + "NOT " * 5000 + "LastName = 'x'"

    with pytest.raises(SoqlError) as caught:
        parse(text)

    assert caught.value.error_code == "MALFORMED_QUERY"


def test_overlong_query_is_rejected() -> None:
    with pytest.raises(SoqlError):
        parse("SELECT Id FROM Contact WHERE LastName = '" + "x" * 100_001 + "'")
