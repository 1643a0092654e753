"""Hypothesis drives query, queryAll, search and parameterizedSearch with generated SOQL, SOSL,
query options and bodies: never a 5xx, an error is Salesforce's body, and an error writes
nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tandem.crm.api.models import QueryLocator
from tandem.crm.records.models import Account, Contact
from tests.crm.api.conftest import Api, V
from tests.crm.soql.test_orm_matches_reference import queries

pytestmark = pytest.mark.django_db

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
PIECES = st.sampled_from(
    [
        "",
        " AND Id IN (SELECT ContactId FROM CampaignMember)",
        " OR Id NOT IN (SELECT Id FROM Lead)",
        " AND NumberOfEmployees > 99999999999999999999",
        " AND Birthdate = 2026-02-31",
        " AND CreatedDate > 0001-01-01T00:00:00+14:00",
        " AND LastName = '\x00'",
        "(",
        ")",
        "'",
        " AND AccountId IN (SELECT Id FROM Account WHERE NumberOfEmployees > 4.5)",
        " AND LastName IN (SELECT LastName FROM Lead)",
        " LIMIT 3000000000",
        " OFFSET 99999",
    ]
)
RETURNINGS = [
    "",
    " RETURNING Contact(LastName)",
    " RETURNING Contact(Id WHERE Id IN (SELECT ContactId FROM CampaignMember)), Account",
]
OPTIONS = st.one_of(
    st.text(max_size=20), st.sampled_from(["batchSize=²", "batchSize=200", "batchSize=-1", ""])
)


@pytest.fixture
def data(org: Any, admin: Any) -> None:
    account = Account.objects.create(org=org, owner=admin, name="A", number_of_employees=5)
    for i in range(5):
        Contact.objects.create(
            org=org,
            owner=admin,
            last_name=f"L{i}",
            name=f"L{i}",
            account=account if i % 2 else None,
        )


def _assert_salesforce_answer(response: Any, locators_before: int) -> None:
    assert response.status_code < 500, response.content
    if response.status_code >= 400:
        (error,) = response.json()
        assert isinstance(error["message"], str)
        assert isinstance(error["errorCode"], str)
        assert QueryLocator.objects.count() == locators_before


@SETTINGS
@given(
    base=queries(), piece=PIECES, options=OPTIONS, resource=st.sampled_from(["query", "queryAll"])
)
def test_generated_soql_never_5xx(
    api: Api, data: None, base: str, piece: str, options: str, resource: str
) -> None:
    text = base.replace(" FROM Contact", " FROM Contact WHERE LastName != null" + piece, 1)
    before = QueryLocator.objects.count()

    response = api.client.get(
        f"{V}/{resource}",
        {"q": text},
        headers={**api.headers, "Sforce-Query-Options": options.replace("\x00", "")},
    )

    _assert_salesforce_answer(response, before)


@SETTINGS
@given(term=st.text(max_size=30), returning=st.sampled_from(RETURNINGS))
def test_generated_sosl_never_5xx(api: Api, data: None, term: str, returning: str) -> None:
    response = api.client.get(
        f"{V}/search", {"q": f"FIND {{{term}}}{returning}"}, headers=api.headers
    )

    _assert_salesforce_answer(response, QueryLocator.objects.count())


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@SETTINGS
@given(
    body=st.one_of(
        JSON,
        st.fixed_dictionaries(
            {"q": st.text(max_size=12)},
            optional={
                "in": st.text(max_size=6),
                "fields": JSON,
                "sobjects": JSON,
                "overallLimit": JSON,
                "defaultLimit": JSON,
            },
        ),
    ),
)
def test_generated_parameterized_search_bodies_never_5xx(api: Api, data: None, body: Any) -> None:
    response = api.client.post(
        f"{V}/parameterizedSearch",
        json.dumps(body),
        content_type="application/json",
        headers=api.headers,
    )

    _assert_salesforce_answer(response, QueryLocator.objects.count())
