"""simple-salesforce (unmodified) against the live CRM over HTTPS, which it always speaks for
REST: the only client-side step is trusting the local CA (REQUESTS_CA_BUNDLE)."""

from __future__ import annotations

import csv
import io
import secrets
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceResourceNotFound

from tests.e2e.clients.conftest import (
    TRICKY_ROW,
    TRICKY_TITLE,
    contact_count,
    password_token,
    rest_account,
    rest_contacts,
    session_org,
    tagged_contacts,
)

pytestmark = pytest.mark.e2e
CLIENT = "simple-salesforce 1.12"
BULK_ROWS = 250


@pytest.fixture(scope="module", autouse=True)
def trust_local_ca(ca_file: Path) -> Iterator[None]:
    """What the docs tell a user to do: export REQUESTS_CA_BUNDLE=<the printed CA file>."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
        yield


@pytest.fixture(scope="module")
def https_token(crm_https_url: str, org: dict[str, Any], ca_file: Path) -> dict[str, Any]:
    return password_token(crm_https_url, org, verify=ssl.create_default_context(cafile=ca_file))


@pytest.fixture(scope="module")
def sf(https_token: dict[str, Any]) -> Salesforce:
    """A session-id login with the token response's instance URL and access token."""
    return Salesforce(
        instance_url=https_token["instance_url"], session_id=https_token["access_token"]
    )


@pytest.mark.compat(CLIENT, "Username-password login (SOAP `login()` through `scratch_url`)")
def test_soap_login_through_scratch_url(org: dict[str, Any], crm_https_url: str) -> None:
    session_id, instance = SalesforceLogin(
        username=org["username"],
        password=org["password"],
        security_token=org["security_token"],
        scratch_url=crm_https_url,
    )
    sf = Salesforce(session_id=session_id, instance=instance)
    me = sf.query(f"SELECT Id, Username FROM User WHERE Id = '{org['user_id']}'")

    assert session_org(session_id) in (org["org_id"][:15], org["org_id"])
    assert me["records"][0]["Username"] == org["username"]


@pytest.mark.compat(CLIENT, "Session-id login over HTTPS")
def test_session_id_login_over_https(
    sf: Salesforce, org: dict[str, Any], https_token: dict[str, Any]
) -> None:
    me = sf.query(f"SELECT Id, Username FROM User WHERE Id = '{org['user_id']}'")

    assert https_token["instance_url"].startswith("https://")
    assert me["records"][0]["Username"] == org["username"]


@pytest.mark.compat(CLIENT, "`is_sandbox()` (queries Organization)")
def test_is_sandbox(sf: Salesforce) -> None:
    assert sf.is_sandbox() is False


@pytest.mark.compat(CLIENT, "`query_all`")
def test_query_all(sf: Salesforce, crm_url: str, https_token: dict[str, Any]) -> None:
    expected = contact_count(crm_url, https_token)

    result = sf.query_all("SELECT Id, LastName, Account.Name FROM Contact")

    assert result["totalSize"] == expected
    assert len({r["Id"] for r in result["records"]}) == expected


@pytest.mark.compat(CLIENT, "CRUD (`sf.Contact.create/get/update/delete`)")
def test_crud(sf: Salesforce) -> None:
    created = sf.Contact.create({"FirstName": "Grace", "LastName": "Hopper"})
    updated = sf.Contact.update(created["id"], {"Email": "grace@navy.example"})
    fetched = sf.Contact.get(created["id"])
    deleted = sf.Contact.delete(created["id"])

    assert created["success"] is True
    assert (updated, deleted) == (204, 204)
    assert fetched["Name"] == "Grace Hopper"
    assert fetched["Email"] == "grace@navy.example"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(created["id"])


@pytest.mark.compat(CLIENT, "`upsert` by external id")
def test_upsert_by_external_id(sf: Salesforce) -> None:
    key = f"ext-{secrets.token_hex(4)}"

    first = sf.Contact.upsert(f"External_Id__c/{key}", {"LastName": "Upserted"})
    second = sf.Contact.upsert(f"External_Id__c/{key}", {"LastName": "Upserted Again"})
    rows = sf.query(f"SELECT Id, LastName FROM Contact WHERE External_Id__c = '{key}'")

    # API 46.0 and later answer an upsert that updates with 200 and a body (earlier: 204).
    assert (first, second) == (201, 200)
    assert [r["LastName"] for r in rows["records"]] == ["Upserted Again"]


@pytest.mark.compat(CLIENT, "`get_by_custom_id`")
def test_get_by_custom_id(sf: Salesforce) -> None:
    key = f"ext-{secrets.token_hex(4)}"
    created = sf.Contact.create({"LastName": "By External Id", "External_Id__c": key})

    fetched = sf.Contact.get_by_custom_id("External_Id__c", key)

    assert fetched["Id"] == created["id"]
    assert fetched["LastName"] == "By External Id"


@pytest.mark.compat(CLIENT, "Describe (global and `Contact`)")
def test_describe(sf: Salesforce) -> None:
    everything = sf.describe()
    contact = sf.Contact.describe()

    assert everything is not None
    assert {"Account", "Contact", "Lead"} <= {s["name"] for s in everything["sobjects"]}
    assert contact["name"] == "Contact"
    fields = {f["name"]: f for f in contact["fields"]}
    assert fields["External_Id__c"]["externalId"] is True


@pytest.mark.compat(CLIENT, "`restful('limits')`")
def test_restful_limits(sf: Salesforce) -> None:
    limits = sf.restful("limits")

    assert limits["DailyApiRequests"]["Max"] == 15000
    assert 0 < limits["DailyApiRequests"]["Remaining"] < 15000


@pytest.mark.compat(CLIENT, "`search` (SOSL)")
def test_search(sf: Salesforce) -> None:
    name = f"Zyx{secrets.token_hex(4)}"
    created = sf.Contact.create({"FirstName": "Searchable", "LastName": name})

    found = sf.search(f"FIND {{{name}}} IN NAME FIELDS RETURNING Contact(Id, LastName)")

    assert found is not None
    assert [(r["Id"], r["LastName"]) for r in found["searchRecords"]] == [(created["id"], name)]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.compat(CLIENT, "Bulk API 2.0 insert (`bulk2.Contact.insert`)")
def test_bulk2_insert(sf: Salesforce, crm_url: str, https_token: dict[str, Any]) -> None:
    tag = f"ss{secrets.token_hex(4)}"
    account_id = rest_account(crm_url, https_token, f"Account {tag}")
    records = [
        {
            "LastName": f"{tag} {n}" if n < BULK_ROWS else "",  # the last row lacks its LastName
            "External_Id__c": f"{tag}-{n}" if n < BULK_ROWS else f"{tag}-bad",
            "AccountId": account_id,
            "Title": TRICKY_TITLE if n == TRICKY_ROW else "",
        }
        for n in range(BULK_ROWS + 1)
    ]

    [job] = sf.bulk2.Contact.insert(records=records, wait=1)
    done = _csv(sf.bulk2.Contact.get_successful_records(job["job_id"]))
    failed = _csv(sf.bulk2.Contact.get_failed_records(job["job_id"]))

    assert job["numberRecordsProcessed"] == job["numberRecordsTotal"] == BULK_ROWS + 1
    assert job["numberRecordsFailed"] == 1
    assert [r["External_Id__c"] for r in failed] == [f"{tag}-bad"]
    assert failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert {r["sf__Created"] for r in done} == {"true"}
    rows = tagged_contacts(crm_url, https_token, tag)
    stored = {r["External_Id__c"]: r for r in rows}
    assert len(rows) == len(stored) == BULK_ROWS  # every good row once, the bad one not at all
    assert {r["sf__Id"] for r in done} == {r["Id"] for r in rows}
    assert {r["AccountId"] for r in rows} == {account_id}
    assert stored[f"{tag}-{TRICKY_ROW}"]["Title"] == TRICKY_TITLE


@pytest.mark.compat(CLIENT, "Bulk API 2.0 query (`bulk2.Contact.query`, pages by locator)")
def test_bulk2_query_pages(sf: Salesforce, crm_url: str, https_token: dict[str, Any]) -> None:
    tag = f"ss{secrets.token_hex(4)}"
    account_id = rest_account(crm_url, https_token, f"Account {tag}")
    made = rest_contacts(crm_url, https_token, tag, BULK_ROWS, account_id)
    soql = (
        f"SELECT Id, LastName, Title, Account.Name FROM Contact WHERE External_Id__c LIKE '{tag}-%'"
    )

    pages = [_csv(page) for page in sf.bulk2.Contact.query(soql, max_records=100, wait=1)]

    assert [len(page) for page in pages] == [100, 100, 50]  # Sforce-Locator led page to page
    records = [r for page in pages for r in page]
    by_id = {r["Id"]: r for r in records}
    assert len(by_id) == BULK_ROWS
    assert set(by_id) == set(made.values())
    assert {r["Account.Name"] for r in records} == {f"Account {tag}"}
    assert by_id[made[f"{tag}-{TRICKY_ROW}"]]["Title"] == TRICKY_TITLE
