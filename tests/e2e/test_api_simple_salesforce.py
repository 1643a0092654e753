"""A real Salesforce client (simple-salesforce, unmodified) against the live CRM over HTTPS."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from tandem.core.paths import PROJECT_ROOT
from tests.e2e.api_setup import SETUP
from tests.e2e.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e
CONTACTS = 5200


@pytest.fixture(scope="module")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("api-var"), https=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def login(https_stack: RunningStack) -> dict[str, Any]:
    """An org with 5,200 contacts, and an access token from the OAuth username-password flow."""
    script = SETUP.replace("CONTACTS", str(CONTACTS))
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", script],
        env={**https_stack.env, "TANDEM_SERVICE": "crm"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    app = json.loads(done.stdout.strip().splitlines()[-1])
    response = httpx.post(
        f"{https_stack.crm_url}/services/oauth2/token",
        verify=https_stack.verify,
        data={
            "grant_type": "password",
            "client_id": app["key"],
            "client_secret": app["secret"],
            "username": app["username"],
            "password": app["password"],
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.fixture(scope="module")
def sf(https_stack: RunningStack, login: dict[str, Any]) -> Salesforce:
    session = requests.Session()
    session.verify = str(https_stack.ca_file)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides verify
    # The token response names the generic CRM URL (this org has a My Domain that Python
    # cannot resolve here), so the client talks to the address the stack listens on.
    return Salesforce(
        instance_url=https_stack.crm_url,
        session_id=login["access_token"],
        session=session,
        version="59.0",
    )


def test_query_all_pages_through_every_contact(sf: Salesforce) -> None:
    first = sf.query("SELECT Id, LastName, Account.Name FROM Contact")
    result = sf.query_all("SELECT Id, LastName, Account.Name FROM Contact")

    assert first["done"] is False
    assert len(first["records"]) == 2000
    assert result["totalSize"] == CONTACTS
    assert len({r["Id"] for r in result["records"]}) == CONTACTS


def test_contact_create_update_delete(sf: Salesforce) -> None:
    created = sf.Contact.create({"LastName": "Hopper", "FirstName": "Grace"})
    sf.Contact.update(created["id"], {"Email": "grace@navy.example"})
    fetched = sf.Contact.get(created["id"])
    sf.Contact.delete(created["id"])

    assert fetched["Name"] == "Grace Hopper"
    assert fetched["Email"] == "grace@navy.example"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(created["id"])


def test_composite_create_of_200(sf: Salesforce) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "LastName": f"Composite {i}", "Company": "Bulk Co"}
        for i in range(200)
    ]

    results = sf.restful(
        "composite/sobjects",
        method="POST",
        data=json.dumps({"allOrNone": True, "records": records}),
    )
    count = sf.query("SELECT COUNT() FROM Lead WHERE Company = 'Bulk Co'")

    assert len(results) == 200
    assert all(r["success"] for r in results)
    assert count["totalSize"] == 200


def test_limits(sf: Salesforce) -> None:
    limits = sf.limits()

    assert limits["DailyApiRequests"]["Max"] == 15000
    assert 0 < limits["DailyApiRequests"]["Remaining"] < 15000
    assert "Integration" in limits["DailyApiRequests"]


def test_report_run(sf: Salesforce) -> None:
    report_id = sf.query("SELECT Id FROM Report WHERE Name = 'Contacts with email'")["records"][0][
        "Id"
    ]

    report = sf.restful(f"analytics/reports/{report_id}", {"includeDetails": "true"})

    assert report["reportMetadata"]["name"] == "Contacts with email"
    assert report["factMap"]["T!T"]["aggregates"][0]["value"] > 0
    assert report["factMap"]["T!T"]["rows"][0]["dataCells"]


def test_malformed_query_raises_the_salesforce_error(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.query("SELECT Id FROM Contact WHERE")

    assert caught.value.content[0]["errorCode"] == "MALFORMED_QUERY"


def test_usage_header_on_every_response(sf: Salesforce) -> None:
    sf.query("SELECT Id FROM Contact LIMIT 1")

    assert sf.api_usage["api-usage"].total == 15000
