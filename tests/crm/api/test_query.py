"""query / queryAll / nextRecordsUrl."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import time_machine

from tandem.crm.records.models import Contact
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


def _contacts(org: Any, owner: Any, n: int) -> None:
    Contact.objects.bulk_create(
        Contact(org=org, owner=owner, last_name=f"L{i:04d}", name=f"L{i:04d}") for i in range(n)
    )


def test_versions_list_needs_no_token(client: Any) -> None:
    response = client.get("/services/data/")

    assert response.status_code == 200
    assert {
        "label": "Winter '24",
        "url": "/services/data/v59.0",
        "version": "59.0",
    } in response.json()


def test_missing_token_is_invalid_session(client: Any) -> None:
    response = client.get(V + "/query?q=SELECT+Id+FROM+Contact")

    assert response.status_code == 401
    assert response.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]


def test_query_returns_records_with_attributes(api: Api, org: Any, admin: Any) -> None:
    _contacts(org, admin, 2)

    body = api.get("/query?q=SELECT+Id,+LastName+FROM+Contact+ORDER+BY+LastName").json()

    assert body["totalSize"] == 2
    assert body["done"] is True
    first = body["records"][0]
    assert first["LastName"] == "L0000"
    assert first["attributes"] == {"type": "Contact", "url": f"{V}/sobjects/Contact/{first['Id']}"}


def test_query_pages_through_every_record_once(api: Api, org: Any, admin: Any) -> None:
    _contacts(org, admin, 450)

    body = api.get(
        "/query?q=SELECT+Id+FROM+Contact", **{"Sforce-Query-Options": "batchSize=200"}
    ).json()
    seen = [r["Id"] for r in body["records"]]
    while not body["done"]:
        body = api.client.get(body["nextRecordsUrl"], headers=api.headers).json()
        seen += [r["Id"] for r in body["records"]]

    assert body["totalSize"] == 450
    assert len(seen) == len(set(seen)) == 450


def test_expired_locator_is_invalid(api: Api, org: Any, admin: Any) -> None:
    _contacts(org, admin, 250)
    body = api.get(
        "/query?q=SELECT+Id+FROM+Contact", **{"Sforce-Query-Options": "batchSize=200"}
    ).json()

    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(minutes=16)):
        response = api.client.get(body["nextRecordsUrl"], headers=api.headers)

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_malformed_query_is_400(api: Api) -> None:
    response = api.get("/query?q=SELECT+Id+FROM")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "MALFORMED_QUERY"


def test_unknown_object_is_invalid_type(api: Api) -> None:
    response = api.get("/query?q=SELECT+Id+FROM+Widget")

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_TYPE"


def test_count_query(api: Api, org: Any, admin: Any) -> None:
    _contacts(org, admin, 3)

    body = api.get("/query?q=SELECT+COUNT()+FROM+Contact").json()

    assert body == {"totalSize": 3, "done": True, "records": []}


def test_other_orgs_records_are_invisible(tokens: Any, outsider: Any, org: Any, admin: Any) -> None:
    _contacts(org, admin, 3)

    body = Api(tokens.issue(outsider)).get("/query?q=SELECT+Id+FROM+Contact").json()

    assert body["totalSize"] == 0


def test_deleted_records_only_in_query_all(api: Api, org: Any, admin: Any) -> None:
    _contacts(org, admin, 2)
    Contact.objects.filter(last_name="L0000").update(is_deleted=True)

    assert api.get("/query?q=SELECT+Id+FROM+Contact").json()["totalSize"] == 1
    assert api.get("/queryAll?q=SELECT+Id+FROM+Contact").json()["totalSize"] == 2


def test_token_without_api_scope_is_refused(tokens: Any, admin: Any) -> None:
    response = Api(tokens.issue(admin, scopes="openid")).get("/query?q=SELECT+Id+FROM+Contact")

    assert response.status_code == 401
