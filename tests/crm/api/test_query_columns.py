"""query?columns=true (sf data query's column layout), queryAll, and /query/ with a slash."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Account, Contact
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_columns_true_answers_column_metadata_and_no_records(
    api: Api, org: Any, admin: Any
) -> None:
    Contact.objects.create(org=org, owner=admin, last_name="Lovelace", name="Lovelace")

    response = api.get(
        "/query?q=SELECT+Id,+LastName,+HasOptedOutOfEmail,+Account.Name,+Account.Industry"
        "+FROM+Contact&columns=true"
    )

    assert response.status_code == 200
    body = response.json()
    assert "records" not in body
    assert (body["entityName"], body["keyPrefix"], body["idSelected"], body["groupBy"]) == (
        "Contact",
        "003",
        True,
        False,
    )
    columns = body["columnMetadata"]
    assert [c["columnName"] for c in columns] == ["Id", "LastName", "HasOptedOutOfEmail", "Account"]
    assert all(isinstance(c["joinColumns"], list) and c["aggregate"] is False for c in columns)
    by_name = {c["columnName"]: c for c in columns}
    assert by_name["Id"]["apexType"] == "Id"
    assert (by_name["Id"]["insertable"], by_name["Id"]["updatable"]) == (False, False)
    assert (by_name["LastName"]["apexType"], by_name["LastName"]["textType"]) == ("String", True)
    assert by_name["LastName"]["label"] == "LastName"
    assert (by_name["LastName"]["insertable"], by_name["LastName"]["updatable"]) == (True, True)
    assert by_name["HasOptedOutOfEmail"]["booleanType"] is True
    joined = by_name["Account"]["joinColumns"]
    assert [(j["columnName"], j["displayName"]) for j in joined] == [
        ("Name", "Account.Name"),
        ("Industry", "Account.Industry"),
    ]


def test_count_columns_name_the_aggregate(api: Api) -> None:
    body = api.get("/query?q=SELECT+COUNT()+FROM+Account&columns=true").json()

    (column,) = body["columnMetadata"]
    assert (column["aggregate"], column["displayName"], column["joinColumns"]) == (
        True,
        "COUNT()",
        [],
    )


def test_columns_of_a_bad_query_are_a_salesforce_error(api: Api) -> None:
    response = api.get("/query?q=SELECT+Nope+FROM+Contact&columns=true")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_FIELD"


def test_query_all_sees_deleted_rows_and_query_does_not(api: Api, org: Any, admin: Any) -> None:
    Account.objects.create(org=org, owner=admin, name="Live")
    Account.objects.create(org=org, owner=admin, name="Gone", is_deleted=True)

    live = api.get("/query/?q=SELECT+Name+FROM+Account+ORDER+BY+Name").json()
    every = api.get("/queryAll/?q=SELECT+Name,+IsDeleted+FROM+Account+ORDER+BY+Name").json()

    assert [r["Name"] for r in live["records"]] == ["Live"]
    assert [(r["Name"], r["IsDeleted"]) for r in every["records"]] == [
        ("Gone", True),
        ("Live", False),
    ]
