"""POST composite: subrequests in order, `@{ref…}` references, allOrNone, one metered call."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from tandem.crm.api.models import ApiUsage
from tandem.crm.records.models import Account, Contact
from tests.crm.api.conftest import Api, V

pytestmark = pytest.mark.django_db


def _sub(ref: str, method: str, url: str, body: Any = None) -> dict[str, Any]:
    item: dict[str, Any] = {"method": method, "url": V + url, "referenceId": ref}
    if body is not None:
        item["body"] = body
    return item


def test_account_then_contact_by_reference(api: Api) -> None:
    response = api.post(
        "/composite",
        {
            "compositeRequest": [
                _sub("refAccount", "POST", "/sobjects/Account", {"Name": "Initech"}),
                _sub(
                    "refContact",
                    "POST",
                    "/sobjects/Contact",
                    {"LastName": "Gibbons", "AccountId": "@{refAccount.id}"},
                ),
            ]
        },
    )

    assert response.status_code == 200
    results = response.json()["compositeResponse"]
    account = Account.objects.get()
    contact = Contact.objects.get()
    assert contact.account_id == account.pk
    assert results[0] == {
        "body": {"id": account.pk, "success": True, "errors": []},
        "httpHeaders": {"Location": f"{V}/sobjects/Account/{account.pk}"},
        "httpStatusCode": 201,
        "referenceId": "refAccount",
    }
    assert results[1]["referenceId"] == "refContact"
    assert results[1]["body"]["id"] == contact.pk


def test_query_result_reference_in_a_url(api: Api) -> None:
    api.post("/sobjects/Account", {"Name": "Globex"})

    results = api.post(
        "/composite",
        {
            "compositeRequest": [
                _sub("q", "GET", "/query?q=SELECT+Id,Name+FROM+Account"),
                _sub("upd", "PATCH", "/sobjects/Account/@{q.records[0].Id}", {"Name": "Globex 2"}),
                _sub("get", "GET", "/sobjects/Account/@{q.records[0].Id}?fields=Name"),
            ]
        },
    ).json()["compositeResponse"]

    assert [r["httpStatusCode"] for r in results] == [200, 204, 200]
    assert results[1]["body"] is None
    assert results[2]["body"]["Name"] == "Globex 2"
    assert Account.objects.get().name == "Globex 2"


def test_all_or_none_rolls_everything_back(api: Api) -> None:
    results = api.post(
        "/composite",
        {
            "allOrNone": True,
            "compositeRequest": [
                _sub("a", "POST", "/sobjects/Account", {"Name": "Kept?"}),
                _sub("bad", "POST", "/sobjects/Contact", {"FirstName": "No last name"}),
                _sub("c", "POST", "/sobjects/Account", {"Name": "Never run"}),
            ],
        },
    ).json()["compositeResponse"]

    assert [r["httpStatusCode"] for r in results] == [400, 400, 400]
    assert results[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    for halted in (results[0], results[2]):
        assert halted["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert not Account.objects.exists()
    assert not Contact.objects.exists()


def test_without_all_or_none_the_rest_run_and_dependents_halt(api: Api) -> None:
    results = api.post(
        "/composite",
        {
            "compositeRequest": [
                _sub("bad", "POST", "/sobjects/Account", {"Nope": 1}),
                _sub(
                    "dependent",
                    "POST",
                    "/sobjects/Contact",
                    {"LastName": "X", "AccountId": "@{bad.id}"},
                ),
                _sub("fine", "POST", "/sobjects/Account", {"Name": "Stands"}),
            ]
        },
    ).json()["compositeResponse"]

    assert [r["httpStatusCode"] for r in results] == [400, 400, 201]
    assert results[0]["body"][0]["errorCode"] == "INVALID_FIELD"
    assert results[1]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert "bad.id" in results[1]["body"][0]["message"]
    assert list(Account.objects.values_list("name", flat=True)) == ["Stands"]
    assert not Contact.objects.exists()


def test_all_or_none_covers_a_collection_subrequest(api: Api) -> None:
    records = [
        {"attributes": {"type": "Account"}, "Name": "A"},
        {"attributes": {"type": "Account"}},
    ]

    results = api.post(
        "/composite",
        {
            "allOrNone": True,
            "compositeRequest": [
                _sub("first", "POST", "/sobjects/Contact", {"LastName": "Gone"}),
                _sub(
                    "coll", "POST", "/composite/sobjects", {"allOrNone": False, "records": records}
                ),
            ],
        },
    ).json()["compositeResponse"]

    assert results[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert not Account.objects.exists()
    assert not Contact.objects.exists()


def test_the_composite_is_one_metered_call(api: Api) -> None:
    api.post(
        "/composite",
        {
            "compositeRequest": [
                _sub(f"r{i}", "POST", "/sobjects/Account", {"Name": f"A{i}"}) for i in range(5)
            ]
        },
    )

    assert Account.objects.count() == 5
    assert ApiUsage.objects.aggregate(n=Sum("calls"))["n"] == 1


def test_another_orgs_record_stays_out_of_reach(tokens: Any, outsider: Any, api: Api) -> None:
    theirs = Api(tokens.issue(outsider)).post("/sobjects/Account", {"Name": "Theirs"}).json()["id"]

    results = api.post(
        "/composite",
        {
            "compositeRequest": [
                _sub("get", "GET", f"/sobjects/Account/{theirs}"),
                _sub("upd", "PATCH", f"/sobjects/Account/{theirs}", {"Name": "Mine now"}),
            ]
        },
    ).json()["compositeResponse"]

    assert [r["httpStatusCode"] for r in results] == [404, 404]
    assert Account.objects.get().name == "Theirs"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"compositeRequest": "x"},
        {"compositeRequest": []},
        {"compositeRequest": [{"method": "POST"}]},
        {"compositeRequest": [{"method": "GET", "url": "/x", "referenceId": "bad ref!"}]},
        {
            "allOrNone": "yes",
            "compositeRequest": [{"method": "GET", "url": "/x", "referenceId": "a"}],
        },
        {
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": V + "/sobjects/Account",
                    "referenceId": "a",
                    "body": {"Name": "A"},
                },
                {
                    "method": "POST",
                    "url": V + "/sobjects/Account",
                    "referenceId": "a",
                    "body": {"Name": "B"},
                },
            ]
        },
        {
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": V + "/sobjects/Account",
                    "referenceId": f"r{i}",
                    "body": {"Name": "A"},
                }
                for i in range(26)
            ]
        },
    ],
)
def test_malformed_composite_bodies_are_refused_whole(api: Api, body: Any) -> None:
    response = api.post("/composite", body)

    assert response.status_code == 400
    assert set(response.json()[0]) >= {"message", "errorCode"}
    assert not Account.objects.exists()


def test_unknown_or_nested_composite_urls_are_not_found(api: Api) -> None:
    results = api.post(
        "/composite",
        {
            "compositeRequest": [
                _sub("a", "GET", "/nothing/here"),
                {"method": "GET", "url": "/services/oauth2/userinfo", "referenceId": "b"},
                _sub("c", "POST", "/composite", {"compositeRequest": []}),
                {"method": "GET", "url": "/services/data/v12.0/limits", "referenceId": "d"},
            ]
        },
    ).json()["compositeResponse"]

    assert [r["httpStatusCode"] for r in results] == [404, 404, 404, 404]


def test_only_post_is_allowed(api: Api) -> None:
    response = api.get("/composite")

    assert response.status_code == 405
    assert response.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def _metered(**filters: Any) -> int:
    return ApiUsage.objects.filter(**filters).aggregate(n=Sum("calls"))["n"] or 0


def test_tracking_write_back_inside_a_composite_counts(tokens: Any, admin: Any) -> None:
    # The Marketing Cloud app's REST calls are exempt, its tracking writes are not: a composite
    # that writes an IndividualEmailResult counts, once.
    connect = Api(tokens.issue(admin, app="Salesforce Marketing Cloud"))

    connect.post(
        "/composite",
        {
            "compositeRequest": [
                _sub(
                    "ier", "POST", "/sobjects/et4ae5__IndividualEmailResult__c", {"Name": "Welcome"}
                ),
                _sub("q", "GET", "/query?q=SELECT+Id+FROM+Contact"),
            ]
        },
    )

    assert _metered(counts_against_limit=True) == 1
    assert _metered(counts_against_limit=False) == 0


def test_a_marketing_cloud_composite_without_tracking_is_exempt(tokens: Any, admin: Any) -> None:
    connect = Api(tokens.issue(admin, app="Salesforce Marketing Cloud"))

    connect.post(
        "/composite",
        {
            "compositeRequest": [
                _sub("q", "GET", "/query?q=SELECT+Id+FROM+Contact"),
            ]
        },
    )

    assert _metered(counts_against_limit=False) == 1
    assert _metered(counts_against_limit=True) == 0


def test_a_url_that_is_one_whole_number_reference_is_not_found(api: Api) -> None:
    results = api.post(
        "/composite",
        {
            "compositeRequest": [
                _sub("q", "GET", "/query?q=SELECT+COUNT()+FROM+Contact"),
                {"method": "GET", "url": "@{q.totalSize}", "referenceId": "n"},
            ]
        },
    ).json()["compositeResponse"]

    assert [r["httpStatusCode"] for r in results] == [200, 404]
