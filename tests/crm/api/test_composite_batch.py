"""POST composite/batch: independent subrequests, haltOnError, Salesforce's result shape."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from tandem.crm.api.models import ApiUsage
from tandem.crm.records.models import Account
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_batch_runs_each_subrequest(api: Api) -> None:
    account = api.post("/sobjects/Account", {"Name": "Initech"}).json()["id"]

    response = api.post(
        "/composite/batch",
        {
            "batchRequests": [
                {
                    "method": "PATCH",
                    "url": f"v59.0/sobjects/Account/{account}",
                    "richInput": {"Name": "Initrode"},
                },
                {"method": "GET", "url": f"v59.0/sobjects/Account/{account}?fields=Name"},
                {"method": "GET", "url": "v59.0/query?q=SELECT+Name+FROM+Account"},
            ]
        },
    )

    assert response.status_code == 200
    body = response.json()
    assert body["hasErrors"] is False
    assert [r["statusCode"] for r in body["results"]] == [204, 200, 200]
    assert body["results"][0]["result"] is None
    assert body["results"][1]["result"]["Name"] == "Initrode"
    assert body["results"][2]["result"]["records"][0]["Name"] == "Initrode"


def test_a_failure_does_not_undo_the_others(api: Api) -> None:
    body = api.post(
        "/composite/batch",
        {
            "batchRequests": [
                {"method": "POST", "url": "v59.0/sobjects/Account", "richInput": {"Name": "Kept"}},
                {"method": "POST", "url": "v59.0/sobjects/Account", "richInput": {"Bogus": 1}},
                {
                    "method": "POST",
                    "url": "v59.0/sobjects/Account",
                    "richInput": {"Name": "Also kept"},
                },
            ]
        },
    ).json()

    assert body["hasErrors"] is True
    assert [r["statusCode"] for r in body["results"]] == [201, 400, 201]
    assert body["results"][1]["result"][0]["errorCode"] == "INVALID_FIELD"
    assert sorted(Account.objects.values_list("name", flat=True)) == ["Also kept", "Kept"]


def test_halt_on_error_skips_the_rest(api: Api) -> None:
    body = api.post(
        "/composite/batch",
        {
            "haltOnError": True,
            "batchRequests": [
                {"method": "POST", "url": "v59.0/sobjects/Account", "richInput": {"Bogus": 1}},
                {
                    "method": "POST",
                    "url": "v59.0/sobjects/Account",
                    "richInput": {"Name": "Skipped"},
                },
            ],
        },
    ).json()

    assert body["results"][1] == {
        "statusCode": 412,
        "result": [
            {
                "errorCode": "BATCH_PROCESSING_HALTED",
                "message": "Batch processing halted per request",
            }
        ],
    }
    assert not Account.objects.exists()


def test_batch_is_one_metered_call(api: Api) -> None:
    api.post(
        "/composite/batch",
        {"batchRequests": [{"method": "GET", "url": "v59.0/limits"} for _ in range(3)]},
    )

    assert ApiUsage.objects.aggregate(n=Sum("calls"))["n"] == 1


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"batchRequests": {}},
        {"batchRequests": []},
        {"batchRequests": [{"url": "v59.0/limits"}]},
        {"batchRequests": [{"method": "GET", "url": "v59.0/limits"}] * 26},
        {"haltOnError": 1, "batchRequests": [{"method": "GET", "url": "v59.0/limits"}]},
    ],
)
def test_malformed_batches_are_refused(api: Api, body: Any) -> None:
    response = api.post("/composite/batch", body)

    assert response.status_code == 400
    assert set(response.json()[0]) >= {"message", "errorCode"}


def test_a_batch_cannot_hold_a_composite(api: Api) -> None:
    body = api.post(
        "/composite/batch",
        {
            "batchRequests": [
                {
                    "method": "POST",
                    "url": "v59.0/composite/batch",
                    "richInput": {"batchRequests": []},
                },
            ]
        },
    ).json()

    assert body["results"][0]["statusCode"] == 404


def test_an_unknown_method_refuses_the_whole_batch(api: Api) -> None:
    response = api.post(
        "/composite/batch",
        {
            "batchRequests": [
                {
                    "method": "POST",
                    "url": "v59.0/sobjects/Account",
                    "richInput": {"Name": "Not run"},
                },
                {"method": "FETCH", "url": "v59.0/limits"},
            ]
        },
    )

    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_API_INPUT"
    assert not Account.objects.exists()
