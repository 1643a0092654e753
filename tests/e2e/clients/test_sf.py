"""The Salesforce CLI (`sf`, unmodified, from the committed lockfile) against the live CRM over
HTTPS: the only client-side step is trusting the local CA (NODE_EXTRA_CA_CERTS)."""

from __future__ import annotations

import csv
import io
import secrets
import ssl
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.clients.conftest import (
    TRICKY_ROW,
    TRICKY_TITLE,
    contact_count,
    login_history,
    password_token,
    rest,
    rest_account,
    rest_contacts,
    tagged_contacts,
    web_server_token,
)
from tests.e2e.clients.node import run_sf
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e
CLIENT = "Salesforce CLI (sf) 2.138"
BULK_ROWS = 200


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """sf's HOME for this module: its ~/.sf and ~/.sfdx (orgs, aliases, config) live here."""
    return tmp_path_factory.mktemp("sf-home")


@pytest.fixture(scope="module")
def https_token(crm_https_url: str, org: dict[str, Any], ca_file: Path) -> dict[str, Any]:
    return password_token(crm_https_url, org, verify=ssl.create_default_context(cafile=ca_file))


def login_access_token(
    alias: str, token: str, crm_https_url: str, home: Path, ca_file: Path
) -> dict[str, Any]:
    return run_sf(
        [
            "org",
            "login",
            "access-token",
            "--instance-url",
            crm_https_url,
            "--no-prompt",
            "--alias",
            alias,
        ],
        home,
        ca_file,
        {"SF_ACCESS_TOKEN": token},
    )


def login_jwt(
    alias: str, org: dict[str, Any], crm_https_url: str, home: Path, ca_file: Path
) -> dict[str, Any]:
    return run_sf(
        [
            "org",
            "login",
            "jwt",
            "--instance-url",
            crm_https_url,
            "--client-id",
            org["client_id"],
            "--jwt-key-file",
            org["private_key_file"],
            "--username",
            org["username"],
            "--alias",
            alias,
        ],
        home,
        ca_file,
    )


@pytest.fixture(scope="module")
def target(org: dict[str, Any], crm_https_url: str, home: Path, ca_file: Path) -> list[str]:
    """`--target-org` of an org that sf knows from `org login jwt`, as in CI scripts."""
    login_jwt("crm", org, crm_https_url, home, ca_file)
    return ["--target-org", "crm"]


@pytest.mark.compat(CLIENT, "`sf org login jwt`")
def test_org_login_jwt(
    org: dict[str, Any],
    crm_https_url: str,
    home: Path,
    ca_file: Path,
    clients_stack: RunningStack,
) -> None:
    before = login_history(clients_stack, org["username"])

    answer = login_jwt("crm-jwt", org, crm_https_url, home, ca_file)
    shown = run_sf(["org", "display", "--target-org", "crm-jwt"], home, ca_file)
    attempts = login_history(clients_stack, org["username"])[len(before) :]

    assert answer["result"]["orgId"] == org["org_id"]
    assert answer["result"]["username"] == org["username"]
    assert shown["result"]["connectedStatus"] == "Connected"
    # sf's first attempt (the CRM's own URL as `aud`, with the slash sf adds) is the one that
    # succeeds: sf never falls back to posting the assertion to Salesforce's servers.
    assert [status for _id, _app, status in attempts] == ["Success"]


@pytest.mark.compat(CLIENT, "`sf org login access-token`")
def test_org_login_access_token(
    org: dict[str, Any],
    https_token: dict[str, Any],
    crm_https_url: str,
    home: Path,
    ca_file: Path,
) -> None:
    answer = login_access_token(
        "crm-token", https_token["access_token"], crm_https_url, home, ca_file
    )

    assert answer["result"]["orgId"] == org["org_id"]
    assert answer["result"]["username"] == org["username"]
    assert answer["result"]["instanceUrl"].rstrip("/") == crm_https_url


@pytest.mark.compat(CLIENT, "`sf org login sfdx-url`")
def test_org_login_sfdx_url(
    org: dict[str, Any],
    crm_url: str,
    crm_https_url: str,
    home: Path,
    ca_file: Path,
    tmp_path: Path,
) -> None:
    """An sfdx auth URL, `force://<key>:<secret>:<refresh token>@<host>`: sf logs in at
    `https://<host>` with the refresh token (sfdx-url logins are always https)."""
    token = web_server_token(crm_url, org)
    auth_url = (
        f"force://{org['client_id']}:{org['client_secret']}:{token['refresh_token']}"
        f"@{urlsplit(crm_https_url).netloc}"
    )
    url_file = tmp_path / "auth-url.txt"
    url_file.write_text(auth_url + "\n")

    answer = run_sf(
        ["org", "login", "sfdx-url", "--sfdx-url-file", str(url_file), "--alias", "crm-sfdx"],
        home,
        ca_file,
    )
    me = run_sf(
        [
            "data",
            "query",
            "--query",
            f"SELECT Username FROM User WHERE Id = '{org['user_id']}'",
            "--target-org",
            "crm-sfdx",
        ],
        home,
        ca_file,
    )

    assert answer["result"]["orgId"] == org["org_id"]
    assert answer["result"]["username"] == org["username"]
    assert answer["result"]["instanceUrl"].rstrip("/") == crm_https_url
    assert [r["Username"] for r in me["result"]["records"]] == [org["username"]]


@pytest.mark.compat(CLIENT, "`sf org display`")
def test_org_display(org: dict[str, Any], target: list[str], home: Path, ca_file: Path) -> None:
    answer = run_sf(["org", "display", *target], home, ca_file)

    assert answer["result"]["id"] == org["org_id"]
    assert answer["result"]["username"] == org["username"]
    assert answer["result"]["connectedStatus"] == "Connected"


@pytest.mark.compat(CLIENT, "`sf data query` (all pages)")
def test_data_query(
    target: list[str], home: Path, ca_file: Path, crm_url: str, https_token: dict[str, Any]
) -> None:
    expected = contact_count(crm_url, https_token)

    answer = run_sf(
        ["data", "query", "--query", "SELECT Id, LastName, Account.Name FROM Contact", *target],
        home,
        ca_file,
    )

    records = answer["result"]["records"]
    assert answer["result"]["totalSize"] == expected
    assert len({r["Id"] for r in records}) == expected
    assert all(r["LastName"] for r in records)


@pytest.mark.compat(CLIENT, "`sf data create record`")
def test_data_create_record(
    target: list[str], home: Path, ca_file: Path, crm_url: str, https_token: dict[str, Any]
) -> None:
    answer = run_sf(
        [
            "data",
            "create",
            "record",
            "--sobject",
            "Contact",
            "--values",
            "FirstName=Grace LastName=Hopper Email=grace@navy.example",
            *target,
        ],
        home,
        ca_file,
    )

    created = answer["result"]
    assert created["success"] is True
    stored = httpx.get(
        f"{crm_url}/services/data/v59.0/sobjects/Contact/{created['id']}",
        headers={"Authorization": f"Bearer {https_token['access_token']}"},
        timeout=60,
    ).json()
    assert (stored["FirstName"], stored["LastName"], stored["Email"]) == (
        "Grace",
        "Hopper",
        "grace@navy.example",
    )


@pytest.mark.compat(CLIENT, "`sf data get record`")
def test_data_get_record(
    target: list[str], home: Path, ca_file: Path, crm_url: str, https_token: dict[str, Any]
) -> None:
    created = httpx.post(
        f"{crm_url}/services/data/v59.0/sobjects/Contact",
        headers={"Authorization": f"Bearer {https_token['access_token']}"},
        timeout=60,
        json={"FirstName": "Katherine", "LastName": "Johnson", "Title": "Mathematician"},
    )
    assert created.status_code == 201, created.text

    answer = run_sf(
        [
            "data",
            "get",
            "record",
            "--sobject",
            "Contact",
            "--record-id",
            created.json()["id"],
            *target,
        ],
        home,
        ca_file,
    )

    assert answer["result"]["Id"] == created.json()["id"]
    assert answer["result"]["LastName"] == "Johnson"
    assert answer["result"]["Title"] == "Mathematician"


@pytest.mark.compat(CLIENT, "`sf sobject describe`")
def test_sobject_describe(target: list[str], home: Path, ca_file: Path) -> None:
    answer = run_sf(["sobject", "describe", "--sobject", "Contact", *target], home, ca_file)

    assert answer["result"]["name"] == "Contact"
    assert {"Id", "LastName", "AccountId", "External_Id__c"} <= {
        f["name"] for f in answer["result"]["fields"]
    }


@pytest.mark.compat(CLIENT, "`sf limits api display`")
def test_limits_api_display(target: list[str], home: Path, ca_file: Path) -> None:
    answer = run_sf(["limits", "api", "display", *target], home, ca_file)

    limits = {row["name"]: row for row in answer["result"]}
    assert limits["DailyApiRequests"]["max"] == 15000
    assert 0 < limits["DailyApiRequests"]["remaining"] < 15000


@pytest.mark.compat(CLIENT, "`sf org list limits`")
def test_org_list_limits(target: list[str], home: Path, ca_file: Path) -> None:
    answer = run_sf(["org", "list", "limits", *target], home, ca_file)

    limits = {row["name"]: row for row in answer["result"]}
    assert limits["DailyApiRequests"]["max"] == 15000
    assert limits["DailyBulkV2QueryJobs"]["max"] == 10000


@pytest.mark.compat(CLIENT, "`sf org list sobject record-counts`")
def test_org_list_sobject_record_counts(
    target: list[str], home: Path, ca_file: Path, crm_url: str, https_token: dict[str, Any]
) -> None:
    before = run_sf(
        ["org", "list", "sobject", "record-counts", "-s", "Lead", *target], home, ca_file
    )
    headers = {"Authorization": f"Bearer {https_token['access_token']}"}
    httpx.post(
        f"{crm_url}/services/data/v62.0/sobjects/Lead",
        json={"LastName": "Counted", "Company": "Tandem"},
        headers=headers,
        timeout=10,
    ).raise_for_status()

    after = run_sf(
        ["org", "list", "sobject", "record-counts", "-s", "Lead", *target], home, ca_file
    )

    assert [row["name"] for row in after["result"]] == ["Lead"]
    assert after["result"][0]["count"] == before["result"][0]["count"] + 1


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


@pytest.mark.compat(CLIENT, "`sf data import bulk`")
def test_data_import_bulk(
    target: list[str], home: Path, ca_file: Path, crm_url: str, https_token: dict[str, Any]
) -> None:
    tag = f"sf{secrets.token_hex(4)}"
    account_id = rest_account(crm_url, https_token, f"Account {tag}")
    rows = [
        [f"{tag} {n}", f"{tag}-{n}", account_id, TRICKY_TITLE if n == TRICKY_ROW else ""]
        for n in range(BULK_ROWS)
    ]
    upload = _write_csv(
        home / f"{tag}.csv", ["LastName", "External_Id__c", "AccountId", "Title"], rows
    )

    answer = run_sf(
        [
            "data",
            "import",
            "bulk",
            "--file",
            str(upload),
            "--sobject",
            "Contact",
            "--wait",
            "2",
            *target,
        ],
        home,
        ca_file,
    )

    result = answer["result"]
    assert result["jobId"].startswith("750")
    assert (result["processedRecords"], result["successfulRecords"], result["failedRecords"]) == (
        BULK_ROWS,
        BULK_ROWS,
        0,
    )
    stored = tagged_contacts(crm_url, https_token, tag)
    by_key = {r["External_Id__c"]: r for r in stored}
    assert len(stored) == len(by_key) == BULK_ROWS  # every row once
    assert {r["AccountId"] for r in stored} == {account_id}
    assert by_key[f"{tag}-{TRICKY_ROW}"]["Title"] == TRICKY_TITLE
    assert by_key[f"{tag}-0"]["LastName"] == f"{tag} 0"


@pytest.mark.compat(CLIENT, "`sf data export bulk`")
def test_data_export_bulk(
    target: list[str], home: Path, ca_file: Path, crm_url: str, https_token: dict[str, Any]
) -> None:
    tag = f"sf{secrets.token_hex(4)}"
    account_id = rest_account(crm_url, https_token, f"Account {tag}")
    made = rest_contacts(crm_url, https_token, tag, BULK_ROWS, account_id)
    output = home / f"{tag}-export.csv"
    soql = (
        f"SELECT Id, LastName, Title, Account.Name FROM Contact WHERE External_Id__c LIKE '{tag}-%'"
    )

    answer = run_sf(
        [
            "data",
            "export",
            "bulk",
            "--query",
            soql,
            "--output-file",
            str(output),
            "--wait",
            "2",
            *target,
        ],
        home,
        ca_file,
    )

    assert answer["result"]["totalSize"] == BULK_ROWS
    records = list(csv.DictReader(io.StringIO(output.read_text())))
    by_id = {r["Id"]: r for r in records}
    assert len(records) == len(by_id) == BULK_ROWS
    assert set(by_id) == set(made.values())
    assert {r["Account.Name"] for r in records} == {f"Account {tag}"}
    assert by_id[made[f"{tag}-{TRICKY_ROW}"]]["Title"] == TRICKY_TITLE


@pytest.mark.compat(CLIENT, "`sf data delete bulk`")
def test_data_delete_bulk(
    target: list[str], home: Path, ca_file: Path, crm_url: str, https_token: dict[str, Any]
) -> None:
    tag = f"sf{secrets.token_hex(4)}"
    account_id = rest_account(crm_url, https_token, f"Account {tag}")
    made = rest_contacts(crm_url, https_token, tag, BULK_ROWS, account_id)
    doomed = sorted(made.values())[: BULK_ROWS // 2]
    ids = _write_csv(home / f"{tag}-delete.csv", ["Id"], [[record_id] for record_id in doomed])

    answer = run_sf(
        [
            "data",
            "delete",
            "bulk",
            "--file",
            str(ids),
            "--sobject",
            "Contact",
            "--wait",
            "2",
            *target,
        ],
        home,
        ca_file,
    )

    job = answer["result"]["jobInfo"]
    assert (job["state"], job["operation"]) == ("JobComplete", "delete")
    assert (job["numberRecordsProcessed"], job["numberRecordsFailed"]) == (len(doomed), 0)
    left = {r["Id"] for r in tagged_contacts(crm_url, https_token, tag)}
    assert left == set(made.values()) - set(doomed)
    binned = rest(
        crm_url,
        https_token,
        "GET",
        "/queryAll",
        params={
            "q": f"SELECT Id FROM Contact WHERE External_Id__c LIKE '{tag}-%' AND IsDeleted = true"
        },
    )
    assert {r["Id"] for r in binned["records"]} == set(doomed)  # in the recycle bin
