"""analytics/reports: the list, a report's describe, a synchronous run in Salesforce's shape."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.crm.records.models import Report
from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_report_run_shape(api: Api, org: Any, admin: Any) -> None:
    api.post("/sobjects/Contact", {"LastName": "Ada", "Email": "ada@x.test"})
    api.post("/sobjects/Contact", {"LastName": "Bob"})
    report = Report.objects.create(
        org=org,
        owner=admin,
        name="With email",
        developer_name="With_email",
        report_type="Contact",
        columns=["LastName", "Email"],
        filters=[{"column": "Email", "operator": "notEqual", "value": None}],
        sort_column="LastName",
    )

    body = api.get(f"/analytics/reports/{report.pk}?includeDetails=true").json()

    rows = body["factMap"]["T!T"]["rows"]
    assert [c["value"] for c in rows[0]["dataCells"]] == ["Ada", "ada@x.test"]
    assert body["reportMetadata"]["detailColumns"] == ["LastName", "Email"]
    assert body["factMap"]["T!T"]["aggregates"][0]["value"] == 1


def test_report_with_a_bad_filter_is_a_400_not_a_crash(api: Api, org: Any, admin: Any) -> None:
    report = Report.objects.create(
        org=org,
        owner=admin,
        name="Broken",
        developer_name="Broken",
        report_type="Contact",
        columns=["LastName"],
        filters=[{"column": "Email", "operator": "bogus", "value": "x"}],
    )

    response = api.get(f"/analytics/reports/{report.pk}")

    assert response.status_code == 400


def test_another_orgs_report_is_not_found(tokens: Any, outsider: Any, org: Any, admin: Any) -> None:
    report = Report.objects.create(
        org=org,
        owner=admin,
        name="Mine",
        developer_name="Mine",
        report_type="Contact",
        columns=["LastName"],
    )

    response = Api(tokens.issue(outsider)).get(f"/analytics/reports/{report.pk}")

    assert response.status_code == 404


def test_parent_columns_are_flat_cells(api: Api, org: Any, admin: Any) -> None:
    account = api.post("/sobjects/Account", {"Name": "Initech"}).json()["id"]
    api.post("/sobjects/Contact", {"LastName": "Gibbons", "AccountId": account})
    report = Report.objects.create(
        org=org,
        owner=admin,
        name="By account",
        developer_name="By_account",
        report_type="Contact",
        columns=["LastName", "Account.Name"],
    )

    body = api.get(f"/analytics/reports/{report.pk}?includeDetails=true").json()

    cells = body["factMap"]["T!T"]["rows"][0]["dataCells"]
    assert [c["label"] for c in cells] == ["Gibbons", "Initech"]
    assert "Account.Name" in body["reportExtendedMetadata"]["detailColumnInfo"]


def _report(org: Any, admin: Any, name: str = "With email", **extra: Any) -> Report:
    return Report.objects.create(
        org=org,
        owner=admin,
        name=name,
        developer_name=name.replace(" ", "_"),
        report_type="Contact",
        columns=["LastName", "Email", "Account.Name"],
        **extra,
    )


def test_a_run_without_include_details_has_totals_only(api: Api, org: Any, admin: Any) -> None:
    # jsforce's report.execute() sends includeDetails=false unless asked for details.
    api.post("/sobjects/Contact", {"LastName": "Ada"})
    report = _report(org, admin)

    body = api.get(f"/analytics/reports/{report.pk}?includeDetails=false").json()

    assert body["factMap"]["T!T"]["aggregates"][0]["value"] == 1
    assert body["factMap"]["T!T"]["rows"] == []
    assert body["hasDetailRows"] is False
    assert body["attributes"]["reportId"] == report.pk


def test_the_list_has_the_orgs_reports_with_their_urls(
    api: Api, org: Any, admin: Any, tokens: Any, outsider: Any
) -> None:
    report = _report(org, admin)
    _report(outsider.org, outsider, name="Theirs")

    body = api.get("/analytics/reports").json()

    base = f"/services/data/v59.0/analytics/reports/{report.pk}"
    assert body == [
        {
            "id": report.pk,
            "name": "With email",
            "url": base,
            "describeUrl": f"{base}/describe",
            "instancesUrl": f"{base}/instances",
        }
    ]


def test_describe_gives_the_three_metadata_parts(api: Api, org: Any, admin: Any) -> None:
    contains = {"column": "Email", "operator": "contains", "value": "@x"}
    report = _report(org, admin, sort_column="LastName", sort_descending=True, filters=[contains])

    response = api.get(f"/analytics/reports/{report.pk}/describe")

    assert response.status_code == 200
    body = response.json()
    metadata = body["reportMetadata"]
    assert metadata["id"] == report.pk
    assert metadata["detailColumns"] == ["LastName", "Email", "Account.Name"]
    assert metadata["reportFormat"] == "TABULAR"
    assert metadata["sortBy"] == [{"sortColumn": "LastName", "sortOrder": "Desc"}]
    assert metadata["reportFilters"][0]["operator"] == "contains"
    columns = body["reportExtendedMetadata"]["detailColumnInfo"]
    assert columns["Email"] == {"dataType": "email", "label": "Email"}
    assert columns["Account.Name"]["dataType"] == "string"
    category = body["reportTypeMetadata"]["categories"][0]
    assert category["columns"]["LastName"]["dataType"] == "string"
    assert "contains" in [
        o["name"] for o in body["reportTypeMetadata"]["dataTypeFilterOperatorMap"]["string"]
    ]
    assert "factMap" not in body


def test_describe_of_another_orgs_report_is_not_found(
    tokens: Any, outsider: Any, org: Any, admin: Any
) -> None:
    report = _report(org, admin)

    response = Api(tokens.issue(outsider)).get(f"/analytics/reports/{report.pk}/describe")

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_a_post_run_applies_runtime_filters_to_this_run_only(
    api: Api, org: Any, admin: Any
) -> None:
    api.post("/sobjects/Contact", {"LastName": "Ada", "Email": "ada@x.test"})
    api.post("/sobjects/Contact", {"LastName": "Bob", "Email": "bob@y.test"})
    report = _report(org, admin)
    metadata = {
        "reportMetadata": {
            "detailColumns": ["LastName"],
            "reportFilters": [{"column": "Email", "operator": "contains", "value": "@y."}],
        }
    }

    body = api.post(f"/analytics/reports/{report.pk}?includeDetails=true", metadata).json()

    rows = body["factMap"]["T!T"]["rows"]
    assert [[c["value"] for c in r["dataCells"]] for r in rows] == [["Bob"]]
    report.refresh_from_db()
    assert report.columns == ["LastName", "Email", "Account.Name"]
    assert report.filters == []


@pytest.mark.parametrize(
    "metadata",
    [
        {"reportMetadata": {"detailColumns": []}},
        {"reportMetadata": {"detailColumns": ["Id FROM Lead"]}},
        {"reportMetadata": {"reportFilters": [{"column": "Email"}]}},
        {"reportMetadata": {"reportFilters": [{"column": "Email", "operator": "bogus"}]}},
        {
            "reportMetadata": {
                "reportFilters": [{"column": "Nope", "operator": "equals", "value": 1}]
            }
        },
        {
            "reportMetadata": {
                "reportFilters": [{"column": "Email", "operator": "equals", "value": {}}]
            }
        },
        {"reportMetadata": "x"},
        [],
    ],
)
def test_bad_runtime_metadata_is_a_400(api: Api, org: Any, admin: Any, metadata: Any) -> None:
    report = _report(org, admin)

    response = api.post(f"/analytics/reports/{report.pk}", metadata)

    assert response.status_code == 400
    assert set(response.json()[0]) >= {"message", "errorCode"}
