"""analytics/reports/<id>: a synchronous run in Salesforce's report JSON shape."""

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


def test_report_with_a_bad_filter_is_a_400_not_a_crash(api: Api, org: Any, admin: Any) -> None:
    report = Report.objects.create(
        org=org, owner=admin, name="Broken", developer_name="Broken", report_type="Contact",
        columns=["LastName"], filters=[{"column": "Email", "operator": "bogus", "value": "x"}],
    )  # fmt: skip

    response = api.get(f"/analytics/reports/{report.pk}")

    assert response.status_code == 400


def test_another_orgs_report_is_not_found(tokens: Any, outsider: Any, org: Any, admin: Any) -> None:
    report = Report.objects.create(
        org=org, owner=admin, name="Mine", developer_name="Mine", report_type="Contact",
        columns=["LastName"],
    )  # fmt: skip

    response = Api(tokens.issue(outsider)).get(f"/analytics/reports/{report.pk}")

    assert response.status_code == 404


def test_parent_columns_are_flat_cells(api: Api, org: Any, admin: Any) -> None:
    account = api.post("/sobjects/Account", {"Name": "Initech"}).json()["id"]
    api.post("/sobjects/Contact", {"LastName": "Gibbons", "AccountId": account})
    report = Report.objects.create(
        org=org, owner=admin, name="By account", developer_name="By_account",
        report_type="Contact", columns=["LastName", "Account.Name"],
    )  # fmt: skip

    body = api.get(f"/analytics/reports/{report.pk}").json()

    cells = body["factMap"]["T!T"]["rows"][0]["dataCells"]
    assert [c["label"] for c in cells] == ["Gibbons", "Initech"]
    assert "Account.Name" in body["reportExtendedMetadata"]["detailColumnInfo"]
