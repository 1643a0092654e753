"""Property tests: random and mutated SOQL gives only Salesforce errors, and the ORM's answer
equals the reference evaluator's on the same rows."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.models import Account, Contact
from tandem.crm.soql import SoqlError, parse
from tandem.crm.soql.bind import bind
from tandem.crm.soql.orm import filtered, page, total_size
from tandem.crm.soql.reference import evaluate

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 29)
WORDS = ["ab", "Ab", "ba", "a_b", "a%b", "o'k", "AB", "b", ""]


@pytest.fixture
def rows(org: Any, admin: Any) -> tuple[list[dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    """A fixed, varied data set; returns the same rows as dicts for the reference."""
    rng = random.Random(7)
    accounts = [
        Account.objects.create(
            org=org,
            owner=admin,
            name=rng.choice(WORDS) or "x",
            number_of_employees=rng.choice([None, 1, 5, 50]),
        )
        for _ in range(4)
    ]
    base = timezone.make_aware(dt.datetime(2026, 11, 29, 12, 0))
    for i in range(40):
        Contact.objects.create(
            org=org,
            owner=admin,
            last_name=rng.choice(WORDS) or "z",
            first_name=rng.choice([None, *WORDS]),
            email=rng.choice([None, "a@x.test", "B@x.test"]),
            has_opted_out_of_email=rng.random() < 0.3,
            birthdate=rng.choice([None, TODAY, TODAY - dt.timedelta(days=rng.randint(1, 800))]),
            created_date=base - dt.timedelta(days=rng.randint(0, 400), hours=i),
            account=rng.choice([None, *accounts]),
        )
    contacts = [_as_row(c, "Contact") for c in Contact.objects.all()]
    parents = {"Account": {a.id: _as_row(a, "Account") for a in Account.objects.all()}}
    return contacts, parents


def _as_row(obj: Any, sobject: str) -> dict[str, Any]:
    describe = REGISTRY.get(sobject)
    assert describe is not None
    row = {}
    for field in describe.fields:
        value = getattr(obj, field.orm if field.reference_to is None else f"{field.orm}_id")
        row[field.name] = value
    return row


FIELDS = st.sampled_from(
    [
        "LastName",
        "FirstName",
        "Email",
        "HasOptedOutOfEmail",
        "Birthdate",
        "CreatedDate",
        "AccountId",
        "Account.Name",
        "Account.NumberOfEmployees",
        "Id",
        "Name",
    ]
)
DATE_LITERALS = st.sampled_from(
    [
        "TODAY",
        "YESTERDAY",
        "LAST_N_DAYS:30",
        "LAST_90_DAYS",
        "THIS_YEAR",
        "LAST_N_MONTHS:6",
        "N_DAYS_AGO:3",
        "THIS_WEEK",
        "LAST_MONTH",
    ]
)
STRINGS = st.sampled_from([*WORDS, "%a%", "_b", "a\\%b", "A%", "a@x.test", "%"]).map(
    lambda s: "'" + s.replace("'", "\\'") + "'"
)


def _literal(field: str) -> st.SearchStrategy[str]:
    if field in ("HasOptedOutOfEmail",):
        return st.sampled_from(["true", "false", "null"])
    if field == "Birthdate":
        return st.one_of(DATE_LITERALS, st.sampled_from(["2026-11-29", "2025-06-01", "null"]))
    if field == "CreatedDate":
        return st.one_of(DATE_LITERALS, st.sampled_from(["2026-11-01T00:00:00Z", "null"]))
    if field == "Account.NumberOfEmployees":
        return st.sampled_from(["1", "5", "4.5", "-2", "null"])
    if field in ("AccountId", "Id"):
        return st.just("null")
    return st.one_of(STRINGS, st.just("null"))


@st.composite
def atoms(draw: st.DrawFn) -> str:
    field = draw(FIELDS)
    literal = draw(_literal(field))
    ops = (
        ["=", "!="]
        if literal == "null" or field == "HasOptedOutOfEmail"
        else ["=", "!=", "<", "<=", ">", ">="]
    )
    if literal.startswith("'"):
        ops += ["LIKE"]
    op = draw(st.sampled_from(ops))
    is_range = any(d in literal for d in ("TODAY", "LAST", "THIS", "N_", "YESTERDAY"))
    if literal != "null" and not is_range and draw(st.booleans()) and draw(st.booleans()):
        values = draw(
            st.lists(_literal(field).filter(lambda v: v != "null"), min_size=1, max_size=3)
        )
        return f"{field} {draw(st.sampled_from(['IN', 'NOT IN']))} ({', '.join(values)})"
    return f"{field} {op} {literal}"


conditions = st.recursive(
    atoms(),
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " AND ".join(xs) + ")"),
        st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(" + " OR ".join(xs) + ")"),
        inner.map(lambda x: f"(NOT {x})"),
    ),
    max_leaves=6,
)


@st.composite
def queries(draw: st.DrawFn) -> str:
    fields = draw(st.lists(FIELDS, min_size=1, max_size=4, unique=True))
    text = f"SELECT {', '.join(fields)} FROM Contact"
    if draw(st.booleans()):
        text += f" WHERE {draw(conditions)}"
    if draw(st.booleans()):
        keys = draw(st.lists(FIELDS, min_size=1, max_size=2, unique=True))
        text += " ORDER BY " + ", ".join(
            f"{k} {draw(st.sampled_from(['', 'ASC', 'DESC']))} "
            f"{draw(st.sampled_from(['', 'NULLS FIRST', 'NULLS LAST']))}"
            for k in keys
        )
    if draw(st.booleans()):
        text += f" LIMIT {draw(st.integers(0, 50))}"
    if draw(st.booleans()):
        text += f" OFFSET {draw(st.integers(0, 45))}"
    return text


def _run_orm(text: str) -> tuple[int, list[dict[str, Any]]]:
    bound = bind(parse(text), REGISTRY, today=TODAY)
    queryset = Contact.objects.all()
    total = total_size(bound, queryset)
    got = page(bound, queryset, position=0, size=10_000) if not bound.is_count else []
    for record in got:
        record.pop("__pk__")
    return total, got


def _run_reference(text: str, rows: Any) -> tuple[int, list[dict[str, Any]]]:
    bound = bind(parse(text), REGISTRY, today=TODAY)
    return evaluate(bound, rows[0], rows[1])


SALESFORCE_CODES = {
    "MALFORMED_QUERY",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "INVALID_QUERY_FILTER_OPERATOR",
    "NUMBER_OUTSIDE_VALID_RANGE",
}
SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(text=queries())
def test_orm_result_equals_reference(rows: Any, text: str) -> None:
    try:
        expected = _run_reference(text, rows)
    except SoqlError:
        with pytest.raises(SoqlError):
            _run_orm(text)
        return

    assert _run_orm(text) == expected, text


@SETTINGS
@given(text=queries(), data=st.data())
def test_mutated_queries_fail_only_with_salesforce_errors(rows: Any, text: str, data: Any) -> None:
    position = data.draw(st.integers(0, len(text)))
    junk = data.draw(
        st.sampled_from(
            [
                "",
                "(",
                ")",
                "'",
                ",",
                " AND",
                " OR ",
                "NOT",
                ".",
                "\\",
                "=",
                " LIMIT",
                "%",
                "9",
                "x",
                ":",
                "\x00",
                "é",
            ]
        )
    )
    cut = data.draw(st.integers(0, 3))
    mutated = text[:position] + junk + text[position + cut :]

    try:
        _run_orm(mutated)
    except SoqlError as error:
        failure = error
    else:
        return
    assert failure.error_code in SALESFORCE_CODES
    assert failure.message


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=80))
def test_random_text_fails_only_with_salesforce_errors(text: str) -> None:
    try:
        bind(parse(text), REGISTRY, today=TODAY)
    except SoqlError as error:
        assert error.error_code  # noqa: PT017


def test_keyset_pages_equal_offset_pages(rows: Any) -> None:
    bound = bind(parse("SELECT Id, LastName FROM Contact"), REGISTRY, today=TODAY)
    queryset = Contact.objects.all()
    first = page(bound, queryset, position=0, size=15)

    by_key = page(bound, queryset, position=15, size=15, after_pk=first[-1]["__pk__"])
    by_offset = page(bound, queryset, position=15, size=15)

    assert by_key == by_offset
    assert len(filtered(bound, queryset)) == 40
