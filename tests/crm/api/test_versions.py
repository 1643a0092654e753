"""/services/data: the version list sf discovers, every listed version served, a doubled slash."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.crm.api.conftest import Api

pytestmark = pytest.mark.django_db


def test_versions_without_a_trailing_slash_is_the_json_array(client: Client) -> None:
    response = client.get("/services/data")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert isinstance(body, list)
    assert body == client.get("/services/data/").json()


def test_versions_run_from_31_to_summer_26_with_salesforce_labels(client: Client) -> None:
    body = client.get("/services/data").json()

    assert [v["version"] for v in body] == [f"{n}.0" for n in range(31, 68)]
    assert body[-1] == {"label": "Summer '26", "url": "/services/data/v67.0", "version": "67.0"}
    by_version = {v["version"]: v["label"] for v in body}
    assert by_version["31.0"] == "Summer '14"
    assert by_version["62.0"] == "Winter '25"
    assert by_version["66.0"] == "Spring '26"


def test_the_largest_version_is_what_sf_picks(client: Client) -> None:
    # sf compares the version strings and wants ^[1-9]\d\.0$.
    versions = [v["version"] for v in client.get("/services/data").json()]

    assert max(versions) == "67.0"
    assert all(len(v) == 4 and v[0] != "0" and v.endswith(".0") for v in versions)


@pytest.mark.parametrize("version", ["31.0", "51.0", "63.0", "67.0"])
def test_every_listed_version_is_served(api: Api, version: str) -> None:
    response = api.client.get(f"/services/data/v{version}/limits", headers=api.headers)

    assert response.status_code == 200
    assert "DailyApiRequests" in response.json()


@pytest.mark.parametrize("version", ["30.0", "68.0", "59.1"])
def test_versions_outside_the_list_are_not_found(api: Api, version: str) -> None:
    response = api.client.get(f"/services/data/v{version}/limits", headers=api.headers)

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_a_doubled_leading_slash_reaches_the_api(api: Api, admin: Any) -> None:
    # The test client would read "//services" as a host, so the path goes in PATH_INFO.
    path = f"//services/data/v51.0/sobjects/User/{admin.pk}"

    response = api.client.get("/", PATH_INFO=path, headers=api.headers)

    assert response.status_code == 200
    assert response.json()["Username"] == admin.username


def test_a_doubled_leading_slash_lists_the_versions(client: Client) -> None:
    response = client.get("/", PATH_INFO="//services/data")

    assert response.status_code == 200
    assert response.json()[-1]["version"] == "67.0"


@pytest.mark.parametrize(
    "path", ["/services/data/vX/limits", "/services/data/nothing", "/services/data/v59.0/a%0Ab"]
)
def test_other_paths_under_services_data_are_json_not_found(api: Api, path: str) -> None:
    response = api.client.get(path, headers=api.headers)

    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_the_url_patterns_pass_djangos_system_checks() -> None:
    """A pattern beginning with "^/" would print urls.W002 on every `tandem` command."""
    from django.core import checks

    assert [m.id for m in checks.run_checks(tags=[checks.Tags.urls])] == []
