"""Property tests of SOSL: for random search terms the database's matches equal the reference
evaluator's (`bind.search_text` + the LIKE regex in Python), on SQLite and PostgreSQL; random
and mutated search text fails only with Salesforce errors."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.models import Contact
from tandem.crm.soql import SoqlError
from tandem.crm.soql.orm import page
from tandem.crm.soql.reference import evaluate
from tandem.crm.soql.sosl import parse_and_bind
from tests.crm.soql.test_orm_matches_reference import TODAY, rows  # noqa: F401

pytestmark = pytest.mark.django_db

WORDS = st.sampled_from(
    [
        "ab",
        "AB",
        "ba",
        "a_b",
        "o'k",
        "x.test",
        "a@x.test",
        "b@x",
        "ab*",
        "*b",
        "a?",
        "?b",
        '"o k"',
        '"a x"',
        "\\*b",
        "zz",
    ]
)
SCOPES = st.sampled_from(["", " IN ALL FIELDS", " IN NAME FIELDS", " IN EMAIL FIELDS"])

terms = st.recursive(
    WORDS,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " AND ".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " ".join(xs) + ")"),
        inner.map(lambda x: f"(NOT {x})"),
    ),
    max_leaves=5,
)


@st.composite
def searches(draw: st.DrawFn) -> str:
    where = draw(st.sampled_from(["", " WHERE HasOptedOutOfEmail = false", " WHERE Email != null"]))
    return (
        f"FIND {{{draw(terms)}}}{draw(SCOPES)} RETURNING Contact(Id, LastName, FirstName, "
        f"Email{where} ORDER BY LastName, Id)"
    )


JUNK = [
    "",
    "{",
    "}",
    "(",
    ")",
    '"',
    "\\",
    "*",
    "?",
    " OR",
    " AND",
    "NOT ",
    "'",
    ",",
    "\x00",
    "é",
    " LIMIT 99999999999",
]
SETTINGS = settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SALESFORCE_CODES = {
    "MALFORMED_SEARCH",
    "MALFORMED_QUERY",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "NUMBER_OUTSIDE_VALID_RANGE",
}


def _orm(text: str) -> list[dict[str, Any]]:
    (query,), _ = parse_and_bind(text, REGISTRY, today=TODAY)
    found = page(query, Contact.objects.all(), position=0, size=10_000)
    for record in found:
        record.pop("__pk__")
    return found


@SETTINGS
@given(text=searches())
def test_search_equals_reference(rows: Any, text: str) -> None:  # noqa: F811
    try:
        (query,), _ = parse_and_bind(text, REGISTRY, today=TODAY)
    except SoqlError as error:  # a word of one letter, say: the database must not be asked
        assert error.error_code == "MALFORMED_SEARCH"  # noqa: PT017
        return
    _, expected = evaluate(query, rows[0], rows[1])

    assert _orm(text) == expected, text


@SETTINGS
@given(text=searches(), data=st.data())
def test_mutated_searches_fail_only_with_salesforce_errors(
    rows: Any,  # noqa: F811
    text: str,
    data: Any,
) -> None:
    position = data.draw(st.integers(0, len(text)))
    junk = data.draw(st.sampled_from(JUNK))
    mutated = text[:position] + junk + text[position + data.draw(st.integers(0, 3)) :]

    try:
        _orm(mutated)
    except SoqlError as error:
        assert error.error_code in SALESFORCE_CODES  # noqa: PT017
        assert error.message  # noqa: PT017
