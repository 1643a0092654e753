"""API usage metering: counts per app and user, the daily limit, exempt calls, the header."""

from __future__ import annotations

from typing import Any

import pytest
from django.db.models import Sum

from tandem.crm.api.models import ApiUsage
from tandem.crm.records.models import Report
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db
Q = "/query?q=SELECT+Id+FROM+Contact"


def _calls(**filters: Any) -> int:
    return ApiUsage.objects.filter(**filters).aggregate(n=Sum("calls"))["n"] or 0


def test_header_counts_this_call(api: Api, org: Any) -> None:
    api.get(Q)

    response = api.get(Q)

    assert response["Sforce-Limit-Info"] == f"api-usage=2/{org.api_daily_limit}"


def test_counts_per_app_and_user(tokens: Any, admin: Any, standard_user: Any) -> None:
    Api(tokens.issue(admin, app="Data Loader")).get(Q)
    Api(tokens.issue(admin, app="Workbench")).get(Q)
    Api(tokens.issue(standard_user, app="Workbench")).get(Q)

    assert _calls(connected_app_name="Workbench") == 2
    assert _calls(user=admin) == 2
    assert _calls(user=standard_user, connected_app_name="Workbench") == 1


def test_limit_enforced(api: Api, org: Any) -> None:
    org.api_daily_limit = 2
    org.save()
    api.get(Q)
    api.get(Q)

    response = api.get(Q)

    assert response.status_code == 403
    assert response.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert _calls() == 2


def test_marketing_cloud_rest_calls_are_exempt(tokens: Any, admin: Any, org: Any) -> None:
    connect = Api(tokens.issue(admin, app="Salesforce Marketing Cloud"))

    response = connect.get(Q)

    assert response["Sforce-Limit-Info"] == f"api-usage=0/{org.api_daily_limit}"
    assert _calls(counts_against_limit=False) == 1
    assert _calls(counts_against_limit=True) == 0


def test_marketing_cloud_tracking_write_back_counts(tokens: Any, admin: Any) -> None:
    connect = Api(tokens.issue(admin, app="Salesforce Marketing Cloud"))
    record = {"attributes": {"type": "et4ae5__IndividualEmailResult__c"}, "Name": "Welcome"}

    response = connect.post("/composite/sobjects", {"records": [record]})

    assert response.status_code == 200
    assert _calls(counts_against_limit=True) == 1


def test_unauthenticated_calls_are_not_counted(client: Any) -> None:
    client.get("/services/data/v59.0" + Q)

    assert _calls() == 0


def test_limits_has_daily_requests_with_apps(tokens: Any, admin: Any, org: Any) -> None:
    Api(tokens.issue(admin, app="Workbench")).get(Q)

    body = Api(tokens.issue(admin, app="Data Loader")).get("/limits").json()

    daily = body["DailyApiRequests"]
    assert daily["Max"] == org.api_daily_limit
    assert daily["Remaining"] == org.api_daily_limit - 2
    assert daily["Workbench"] == {"Max": org.api_daily_limit, "Remaining": org.api_daily_limit - 1}


def test_report_run_shape(api: Api, org: Any, admin: Any) -> None:
    api.post("/sobjects/Contact", {"LastName": "Ada", "Email": "ada@x.test"})
    api.post("/sobjects/Contact", {"LastName": "Bob"})
    report = Report.objects.create(
        org=org, owner=admin, name="With email", developer_name="With_email", report_type="Contact",
        columns=["LastName", "Email"],
        filters=[{"column": "Email", "operator": "notEqual", "value": None}],
        sort_column="LastName",
    )  # fmt: skip

    body = api.get(f"/analytics/reports/{report.pk}").json()

    rows = body["factMap"]["T!T"]["rows"]
    assert [c["value"] for c in rows[0]["dataCells"]] == ["Ada", "ada@x.test"]
    assert body["reportMetadata"]["detailColumns"] == ["LastName", "Email"]
    assert body["factMap"]["T!T"]["aggregates"][0]["value"] == 1
