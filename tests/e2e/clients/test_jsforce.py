"""jsforce 3 (unmodified, from the committed lockfile) against the live CRM over HTTP."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.clients.conftest import (
    TRICKY_ROW,
    TRICKY_TITLE,
    contact_count,
    rest_account,
    rest_contacts,
    revoke,
    session_org,
    tagged_contacts,
    web_server_token,
)
from tests.e2e.clients.node import run_jsforce

pytestmark = pytest.mark.e2e
CLIENT = "jsforce 3.10"
BULK_ROWS = 300


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("jsforce-home")


@pytest.fixture(scope="module")
def config(crm_url: str, org: dict[str, Any], api_token: dict[str, Any]) -> dict[str, Any]:
    """What an application configures: the login URL, the app's key and secret, and the
    instance URL and access token of the token response."""
    return {
        "loginUrl": crm_url,
        "clientId": org["client_id"],
        "clientSecret": org["client_secret"],
        "username": org["username"],
        "password": org["password"],
        "securityToken": org["security_token"],
        "privateKeyFile": org["private_key_file"],
        "instanceUrl": api_token["instance_url"],
        "accessToken": api_token["access_token"],
    }


@pytest.mark.compat(CLIENT, "Password login (`conn.login`)")
def test_password_login(config: dict[str, Any], org: dict[str, Any], home: Path) -> None:
    result = run_jsforce("password_login", config, home)

    assert result["userInfo"] == {
        "id": org["user_id"],
        "organizationId": org["org_id"],
        "url": result["userInfo"]["url"],
    }
    assert session_org(result["accessToken"]) in (org["org_id"][:15], org["org_id"])
    assert result["me"][0]["Username"] == org["username"]


@pytest.mark.compat(CLIENT, "JWT bearer login (`conn.authorize`)")
def test_jwt_bearer_login(config: dict[str, Any], org: dict[str, Any], home: Path) -> None:
    result = run_jsforce("jwt_login", config, home)

    assert result["userInfo"]["id"] == org["user_id"]
    assert result["userInfo"]["organizationId"] == org["org_id"]
    assert result["me"][0]["Username"] == org["username"]


@pytest.mark.compat(CLIENT, "Two automatic refreshes in a row")
def test_two_automatic_refreshes_in_a_row(
    config: dict[str, Any],
    crm_url: str,
    org: dict[str, Any],
    home: Path,
    api_token: dict[str, Any],
) -> None:
    token = web_server_token(crm_url, org)
    revoke(crm_url, token["access_token"])  # the first call will get 401 INVALID_SESSION_ID
    refresh_config = {
        **config,
        "instanceUrl": token["instance_url"],
        "accessToken": token["access_token"],
        "refreshToken": token["refresh_token"],
    }

    expected = contact_count(crm_url, api_token)

    result = run_jsforce("two_refreshes", refresh_config, home)

    assert len(result["refreshed"]) == 2
    assert len({token["access_token"], *result["refreshed"]}) == 3
    assert result["counts"] == [expected, expected]
    assert result["refreshToken"] == token["refresh_token"]


@pytest.mark.compat(CLIENT, "Query with autoFetch over 5,000 records")
def test_query_autofetch_over_5000_records(
    config: dict[str, Any], home: Path, crm_url: str, api_token: dict[str, Any]
) -> None:
    expected = contact_count(crm_url, api_token)

    result = run_jsforce("query_autofetch", config, home)

    assert result == {"totalSize": expected, "fetched": expected, "distinct": expected}


@pytest.mark.compat(CLIENT, "CRUD (`sobject().create/retrieve/update/destroy`)")
def test_crud(config: dict[str, Any], home: Path) -> None:
    result = run_jsforce("crud", config, home)

    assert result["created"]["success"] is True
    assert result["updated"] == {"id": result["created"]["id"], "success": True, "errors": []}
    assert result["read"]["Name"] == "Ada Lovelace"
    assert result["read"]["Email"] == "ada@engine.example"
    assert result["deleted"]["success"] is True
    assert result["after"]["errorCode"] == "NOT_FOUND"


@pytest.mark.compat(CLIENT, "sObject collections (arrays of records)")
def test_sobject_collections(config: dict[str, Any], home: Path) -> None:
    result = run_jsforce("collections", config, home)

    assert [r["success"] for r in result["created"]] == [True, True, True]
    assert [r["success"] for r in result["updated"]] == [True, True, True]
    assert [r["Status"] for r in result["read"]] == ["Working - Contacted"] * 3
    assert [r["LastName"] for r in result["read"]] == [f"Collection {n}" for n in (1, 2, 3)]
    assert [r["success"] for r in result["deleted"]] == [True, True, True]
    assert result["left"] == 0


@pytest.mark.compat(CLIENT, "sObject collections upsert (arrays, by external id)")
def test_sobject_collections_upsert(config: dict[str, Any], home: Path) -> None:
    run_id = secrets.token_hex(4)

    result = run_jsforce("collections_upsert", {**config, "runId": run_id}, home)

    assert [(r["success"], r["created"]) for r in result["first"]] == [(True, True)]
    assert [(r["success"], r["created"]) for r in result["second"]] == [(True, False), (True, True)]
    assert result["second"][0]["id"] == result["first"][0]["id"]
    assert [(r["Id"], r["External_Id__c"], r["LastName"]) for r in result["read"]] == [
        (result["second"][0]["id"], f"{run_id}-1", "Upsert 1 again"),
        (result["second"][1]["id"], f"{run_id}-2", "Upsert 2 again"),
    ]


@pytest.mark.compat(CLIENT, "Composite (`referenceId`, `@{ref.id}`)")
def test_composite(config: dict[str, Any], home: Path) -> None:
    result = run_jsforce("composite", config, home)

    answers = {r["referenceId"]: r for r in result["compositeResponse"]}
    assert [answers[ref]["httpStatusCode"] for ref in ("newAccount", "newContact", "readBack")] == [
        201,
        201,
        200,
    ]
    assert answers["readBack"]["body"]["AccountId"] == answers["newAccount"]["body"]["id"]


@pytest.mark.compat(CLIENT, "Describe (global and `Contact`)")
def test_describe(config: dict[str, Any], home: Path) -> None:
    result = run_jsforce("describe", config, home)

    assert {"Account", "Contact", "Lead", "Campaign"} <= set(result["sobjects"])
    assert result["name"] == "Contact"
    fields = {f["name"]: f for f in result["fields"]}
    assert fields["Id"]["type"] == "id"
    assert fields["External_Id__c"]["externalId"] is True


@pytest.mark.compat(CLIENT, "Limits (`conn.limits`)")
def test_limits(config: dict[str, Any], home: Path) -> None:
    result = run_jsforce("limits", config, home)

    assert result["DailyApiRequests"]["Max"] == 15000
    assert 0 < result["DailyApiRequests"]["Remaining"] < 15000


@pytest.mark.compat(CLIENT, "Reports list (`analytics.reports`)")
def test_reports_list(config: dict[str, Any], home: Path) -> None:
    result = run_jsforce("report_list", config, home)

    assert "Contacts with email" in {r["name"] for r in result}
    assert all(r["id"] and r["url"] for r in result)


@pytest.mark.compat(CLIENT, "Report run (`analytics.report(id).execute`)")
def test_report_run(config: dict[str, Any], home: Path) -> None:
    result = run_jsforce("report_run", config, home)

    assert result["reportMetadata"]["name"] == "Contacts with email"
    assert result["factMap"]["T!T"]["aggregates"][0]["value"] > 0
    assert result["factMap"]["T!T"]["rows"]


@pytest.mark.compat(CLIENT, "Bulk API 2.0 insert (`bulk2.loadAndWaitForResults`)")
def test_bulk2_load_and_wait_for_results(
    config: dict[str, Any], home: Path, crm_url: str, api_token: dict[str, Any]
) -> None:
    tag = f"js{secrets.token_hex(4)}"
    account_id = rest_account(crm_url, api_token, f"Account {tag}")
    load = {
        **config,
        "tag": tag,
        "rows": BULK_ROWS,
        "accountId": account_id,
        "trickyRow": TRICKY_ROW,
        "trickyTitle": TRICKY_TITLE,
    }

    result = run_jsforce("bulk2_load", load, home)

    done = result["successfulResults"]
    assert sorted(r["External_Id__c"] for r in done) == sorted(
        f"{tag}-{n}" for n in range(BULK_ROWS)
    )
    assert {r["sf__Created"] for r in done} == {"true"}
    [failed] = result["failedResults"]
    assert failed["External_Id__c"] == f"{tag}-bad"
    assert failed["sf__Id"] == ""
    assert failed["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    assert result["unprocessedRecords"] == []
    rows = tagged_contacts(crm_url, api_token, tag)
    stored = {r["External_Id__c"]: r for r in rows}
    assert len(rows) == len(stored) == BULK_ROWS  # every good row once, the bad one not at all
    assert {r["sf__Id"] for r in done} == {r["Id"] for r in stored.values()}
    assert {r["AccountId"] for r in stored.values()} == {account_id}
    assert stored[f"{tag}-{TRICKY_ROW}"]["Title"] == TRICKY_TITLE


@pytest.mark.compat(CLIENT, "Bulk API 2.0 query (`bulk2.query`)")
def test_bulk2_query(
    config: dict[str, Any], home: Path, crm_url: str, api_token: dict[str, Any]
) -> None:
    tag = f"js{secrets.token_hex(4)}"
    account_id = rest_account(crm_url, api_token, f"Account {tag}")
    made = rest_contacts(crm_url, api_token, tag, BULK_ROWS, account_id)

    records = run_jsforce("bulk2_query", {**config, "tag": tag}, home)

    by_id = {r["Id"]: r for r in records}
    assert len(records) == len(by_id) == BULK_ROWS
    assert set(by_id) == set(made.values())
    assert {r["Account.Name"] for r in records} == {f"Account {tag}"}
    assert by_id[made[f"{tag}-{TRICKY_ROW}"]]["Title"] == TRICKY_TITLE
    assert by_id[made[f"{tag}-0"]]["LastName"] == f"{tag} 0"
