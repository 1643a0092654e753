"""SOSL: search?q=FIND {…} and parameterizedSearch, each org seeing only its own records."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tandem.crm.records.models import Account, Contact, Lead
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(org: Any, admin: Any, other_org: Any, outsider: Any) -> dict[str, Any]:
    def contact(first: str, last: str, email: str = "", **extra: Any) -> Contact:
        name = f"{first} {last}"
        return Contact.objects.create(
            org=org,
            owner=admin,
            first_name=first,
            last_name=last,
            name=name,
            email=email or None,
            **extra,
        )

    found = {
        "ann": contact("Ann", "Archer", "ann@acme.test"),
        "joanne": contact("Joanne", "Baker", "jo@acme.test"),
        "bob": contact("Bob", "Smith", "bob@smith.test"),
        "gone": contact("Ann", "Deleted", is_deleted=True),
        "lead": Lead.objects.create(
            org=org,
            owner=admin,
            first_name="Ann",
            last_name="Lee",
            name="Ann Lee",
            company="Annex",
            status="Open - Not Contacted",
        ),
        "account": Account.objects.create(org=org, owner=admin, name="Smith & Sons"),
        "foreign": Contact.objects.create(
            org=other_org, owner=outsider, first_name="Ann", last_name="Globex", name="Ann Globex"
        ),
    }
    return found


def _search(api: Api, sosl: str) -> Any:
    return api.client.get(f"{V}/search/", {"q": sosl}, headers=api.headers)


def _ids(response: Any) -> list[tuple[str, str]]:
    assert response.status_code == 200, response.content
    return [(r["attributes"]["type"], r["Id"]) for r in response.json()["searchRecords"]]


def test_find_returning_contact_and_lead(api: Api, people: Any) -> None:
    """Whole words match: Ann finds Ann Archer and the lead Ann Lee, not Joanne."""
    response = _search(
        api, "FIND {Ann} IN ALL FIELDS RETURNING Contact(Id, Name ORDER BY LastName), Lead(Id)"
    )

    records = response.json()["searchRecords"]
    assert [(r["attributes"]["type"], r["Id"], r.get("Name")) for r in records] == [
        ("Contact", people["ann"].pk, "Ann Archer"),
        ("Lead", people["lead"].pk, None),
    ]
    assert records[0]["attributes"]["url"] == f"{V}/sobjects/Contact/{people['ann'].pk}"


def test_wildcards_reach_inside_words(api: Api, people: Any) -> None:
    response = _search(api, "FIND {*ann*} RETURNING Contact(LastName ORDER BY LastName)")

    assert [r["LastName"] for r in response.json()["searchRecords"]] == ["Archer", "Baker"]


def test_simple_salesforce_search_with_plus_for_spaces(api: Api, people: Any) -> None:
    response = api.client.get(
        f"{V}/search/?q=FIND+%7Bbob%40smith.test%7D+RETURNING+Contact(Email)", headers=api.headers
    )

    assert [r["Email"] for r in response.json()["searchRecords"]] == ["bob@smith.test"]


def test_without_returning_every_searchable_object_answers_ids(api: Api, people: Any) -> None:
    ids = _ids(_search(api, "FIND {smith}"))

    assert sorted(ids) == sorted([("Account", people["account"].pk), ("Contact", people["bob"].pk)])


def test_operators_wildcards_and_phrases(api: Api, people: Any) -> None:
    def contacts(term: str) -> set[str]:
        response = _search(api, f"FIND {{{term}}} RETURNING Contact(LastName)")
        return {r["LastName"] for r in response.json()["searchRecords"]}

    assert contacts("ann AND archer") == {"Archer"}
    assert contacts("ann archer") == {"Archer"}
    assert contacts("archer OR baker") == {"Archer", "Baker"}
    assert contacts("jo* AND NOT archer") == {"Baker"}
    assert contacts("ann AND NOT archer") == set()
    assert contacts('"ann archer"') == {"Archer"}
    assert contacts("ar?her") == {"Archer"}
    assert contacts("smi*") == {"Smith"}
    assert contacts("(bob OR joanne) AND NOT smith") == {"Baker"}


def test_scopes_name_email_phone(api: Api, people: Any) -> None:
    email = _search(api, "FIND {acme.test} IN EMAIL FIELDS RETURNING Contact(LastName)").json()
    name = _search(api, "FIND {acme} IN NAME FIELDS RETURNING Contact(LastName)").json()

    assert {r["LastName"] for r in email["searchRecords"]} == {"Archer", "Baker"}
    assert name["searchRecords"] == []


def test_where_limit_and_overall_limit(api: Api, people: Any) -> None:
    scoped = _search(api, "FIND {smith} RETURNING Contact(LastName WHERE LastName != 'Archer')")
    limited = _search(api, "FIND {ann OR test} RETURNING Contact(Id LIMIT 1), Lead(Id)")
    overall = _search(api, "FIND {ann OR test} RETURNING Contact(Id), Lead(Id) LIMIT 2")

    assert [r["LastName"] for r in scoped.json()["searchRecords"]] == ["Smith"]
    assert [t for t, _ in _ids(limited)] == ["Contact", "Lead"]
    assert [t for t, _ in _ids(overall)] == ["Contact", "Contact"]


@pytest.mark.parametrize(
    ("sosl", "code"),
    [
        ("FIND ann", "MALFORMED_SEARCH"),
        ("FIND {a}", "MALFORMED_SEARCH"),
        ("FIND {**}", "MALFORMED_SEARCH"),
        ("FIND {ann AND}", "MALFORMED_SEARCH"),
        ("FIND {ann} IN FOO FIELDS", "MALFORMED_SEARCH"),
        ("FIND {ann} RETURNING", "MALFORMED_SEARCH"),
        ("FIND {ann} RETURNING Widget", "INVALID_TYPE"),
        ("FIND {ann} RETURNING CampaignMember", "INVALID_TYPE"),
        ("FIND {ann} RETURNING Contact(Nope)", "INVALID_FIELD"),
        ("FIND {ann} RETURNING Contact(Id WHERE NumberOfEmployees > 1)", "INVALID_FIELD"),
        ("FIND {a\x00n}", "MALFORMED_SEARCH"),
        ("FIND {" + " OR ".join(f"w{i}" for i in range(101)) + "}", "MALFORMED_SEARCH"),
        ("", "MALFORMED_SEARCH"),
    ],
)
def test_bad_searches_are_salesforce_errors(api: Api, sosl: str, code: str) -> None:
    response = _search(api, sosl)

    assert response.status_code == 400
    (error,) = response.json()
    assert error["errorCode"] == code
    assert error["message"]


def test_another_orgs_and_deleted_records_are_never_found(
    api: Api, people: Any, outsider: Any, tokens: Any
) -> None:
    mine = _ids(_search(api, "FIND {ann} RETURNING Contact(Id)"))
    theirs = Api(tokens.issue(outsider))
    foreign = _ids(_search(theirs, "FIND {ann} RETURNING Contact(Id)"))

    assert people["gone"].pk not in {i for _, i in mine}
    assert people["foreign"].pk not in {i for _, i in mine}
    assert foreign == [("Contact", people["foreign"].pk)]


def test_parameterized_search_get(api: Api, people: Any) -> None:
    response = api.client.get(
        f"{V}/parameterizedSearch/",
        {
            "q": "ann",
            "sobject": ["Contact", "Lead"],
            "Contact.fields": "Id,LastName",
            "Contact.limit": "1",
            "fields": "Id,Company",
        },
        headers=api.headers,
    )

    records = response.json()["searchRecords"]
    assert [r["attributes"]["type"] for r in records] == ["Contact", "Lead"]
    assert set(records[0]) == {"attributes", "Id", "LastName"}
    assert records[1]["Company"] == "Annex"


def test_parameterized_search_post(api: Api, people: Any) -> None:
    body = {
        "q": "ann OR smith",
        "in": "NAME",
        "overallLimit": 10,
        "fields": ["Id"],
        "sobjects": [
            {"name": "Contact", "fields": ["LastName"], "where": "LastName != 'Baker'"},
            {"name": "Account", "limit": 5},
        ],
    }

    response = api.client.post(
        f"{V}/parameterizedSearch",
        json.dumps(body),
        content_type="application/json",
        headers=api.headers,
    )

    records = response.json()["searchRecords"]
    assert sorted(r.get("LastName", r["attributes"]["type"]) for r in records) == [
        "Account",
        "Archer",
        "Smith",
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"q": "ann", "sobjects": "Contact"},
        {"q": "ann", "sobjects": [{"fields": ["Id"]}]},
        {"q": "ann", "overallLimit": "ten"},
        {"q": "ann", "in": "EVERYWHERE"},
        {"q": "ann", "sobjects": [{"name": "Contact", "where": "LastName = "}]},
        {"q": "ann", "sobjects": [{"name": "Contact", "fields": ["Id; DROP"]}]},
        {"q": ""},
        [],
    ],
)
def test_parameterized_search_bad_bodies(api: Api, body: Any) -> None:
    response = api.client.post(
        f"{V}/parameterizedSearch",
        json.dumps(body),
        content_type="application/json",
        headers=api.headers,
    )

    assert response.status_code == 400
    (error,) = response.json()
    assert set(error) == {"message", "errorCode"}


def test_search_needs_a_token(client: Any) -> None:
    assert client.get(f"{V}/search/?q=FIND+%7Bann%7D").status_code == 401
