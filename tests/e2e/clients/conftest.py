"""One live stack and one org for the real Salesforce clients (jsforce, sf, simple-salesforce).

The org is made with the CRM's own services: an admin with a password and a security token, a
connected app with a consumer secret and a certificate (JWT bearer), pre-authorized for System
Administrators, and 5,200 seeded contacts with the demo reports. Each test is marked
`compat(client, operation)`; the outcome of every marked test is written to
`$TANDEM_VAR_DIR/clients-compat.json`, from which `python -m tests.e2e.clients.table` writes the
compatibility table of docs/clients.md.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
import requests

from tandem.core.paths import PROJECT_ROOT
from tests.crm.oauth.jwtkeys import key_pair, private_pem
from tests.e2e.clients.compat import record_outcome
from tests.e2e.stack import RunningStack, running_stack

CONTACTS = 5200
PASSWORD = "Clients-e2e-password-1"
CALLBACK = "http://localhost:1717/OauthRedirect"
SETUP = r"""
import json, os
from tandem.crm.connectedapps.services import (
    connected_app_create, connected_app_policy_set, connected_app_profiles_set,
)
from tandem.crm.oauth.policy import PermittedUsers, RefreshTokenPolicy
from tandem.crm.orgs.services import org_create, org_settings_update
from tandem.crm.records.seed import records_seed
from tandem.crm.users.models import Profile, ProfileName
from tandem.crm.users.services import security_token_reset, user_create

org = org_create(name="Clients E2E", my_domain="clientse2e")
org_settings_update(actor=None, org=org, section="OAuth and OpenID Connect Settings",
                    changes={"allow_username_password_flows": True})
admin_profile = Profile.objects.get(org=org, name=ProfileName.SYSTEM_ADMINISTRATOR)
admin = user_create(org=org, actor=None, username=os.environ["E2E_USERNAME"],
                    email="admin@clients.example", first_name="Cli", last_name="Ents",
                    profile=admin_profile, password=os.environ["E2E_PASSWORD"])
token = security_token_reset(user=admin)
created = connected_app_create(
    org=org, actor=None, name="Clients", callback_urls=[os.environ["E2E_CALLBACK"]],
    scopes=["api", "refresh_token", "id", "openid", "web"], certificate=os.environ["E2E_CERT"],
)
policy = created.app.policies.get(org=org)
connected_app_policy_set(actor=None, policy=policy, permitted_users=PermittedUsers.ADMIN_APPROVED,
                         ip_relaxation=policy.ip_relaxation,
                         refresh_token_policy=RefreshTokenPolicy.INFINITE)
connected_app_profiles_set(actor=None, policy=policy, profiles=[admin_profile])
records_seed(org=org, owner=admin, contacts=int(os.environ["E2E_CONTACTS"]), leads=20,
             campaigns=1, seed=11)
print(json.dumps({"org_id": org.id, "user_id": admin.id, "security_token": token,
                  "client_id": created.app.client_id, "client_secret": created.consumer_secret}))
"""


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    """Note each marked test's outcome (a failing fixture counts as a failure)."""
    marker = item.get_closest_marker("compat")
    if marker is not None and (call.when == "call" or call.excinfo is not None):
        record_outcome(*marker.args, passed=call.excinfo is None, item=item, call=call)


@pytest.fixture(scope="package")
def clients_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """`tandem up` as a user runs it: the CRM over HTTP and, on a second port, HTTPS."""
    with running_stack(tmp_path_factory.mktemp("clients-var"), https_port=True) as stack:
        yield stack


@pytest.fixture(scope="package")
def crm_url(clients_stack: RunningStack) -> str:
    """The CRM's plain HTTP address, by the name `tandem up` prints."""
    return clients_stack.crm_url.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="package")
def crm_https_url(clients_stack: RunningStack) -> str:
    """The CRM's HTTPS address (the local CA signs it), by the name `tandem up` prints."""
    assert clients_stack.crm_https_url is not None
    return clients_stack.crm_https_url.replace("127.0.0.1", "localhost")


@pytest.fixture(scope="package")
def ca_file(clients_stack: RunningStack) -> Path:
    assert clients_stack.ca_file is not None
    return clients_stack.ca_file


@pytest.fixture(scope="package")
def org(clients_stack: RunningStack, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The org, its admin's credentials and the connected app (see SETUP)."""
    username = f"admin.{secrets.token_hex(3)}@clients.example"
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", SETUP],
        env={
            **clients_stack.env,
            "TANDEM_SERVICE": "crm",
            "E2E_USERNAME": username,
            "E2E_PASSWORD": PASSWORD,
            "E2E_CALLBACK": CALLBACK,
            "E2E_CERT": key_pair()[1],
            "E2E_CONTACTS": str(CONTACTS),
        },
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    key_file = tmp_path_factory.mktemp("jwt") / "server.key"
    key_file.write_text(private_pem())
    key_file.chmod(0o600)
    return {
        **json.loads(done.stdout.strip().splitlines()[-1]),
        "username": username,
        "password": PASSWORD,
        "private_key_file": str(key_file),
    }


HISTORY = r"""
import json, os
from tandem.crm.users.models import LoginHistory
rows = LoginHistory.objects.filter(username=os.environ["E2E_USERNAME"]).order_by("login_time", "id")
print(json.dumps([[row.id, row.application, row.status] for row in rows]))
"""


def login_history(stack: RunningStack, username: str) -> list[list[str]]:
    """The user's Login History rows, oldest first: [id, application, status]."""
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", HISTORY],
        env={**stack.env, "TANDEM_SERVICE": "crm", "E2E_USERNAME": username},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def password_token(base_url: str, org: dict[str, Any], verify: Any = True) -> dict[str, Any]:
    """A token from the OAuth username-password flow, as any HTTP client gets it."""
    response = httpx.post(
        f"{base_url}/services/oauth2/token",
        verify=verify,
        timeout=60,
        data={
            "grant_type": "password",
            "client_id": org["client_id"],
            "client_secret": org["client_secret"],
            "username": org["username"],
            "password": org["password"] + org["security_token"],
        },
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.fixture(scope="package")
def api_token(crm_url: str, org: dict[str, Any]) -> dict[str, Any]:
    """An access token (and the instance URL it names) for the clients' everyday calls."""
    return password_token(crm_url, org)


def contact_count(crm_url: str, token: dict[str, Any]) -> int:
    """How many contacts the org has now, by a plain REST call (other tests add some): what a
    client walking every page must deliver. The seed alone is over 5,000."""
    response = httpx.get(
        f"{crm_url}/services/data/v59.0/query",
        params={"q": "SELECT COUNT() FROM Contact"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    count = int(response.json()["totalSize"])
    assert count >= CONTACTS
    return count


def session_org(session_id: str) -> str:
    """The org id an access token or session id starts with (Salesforce: 15 characters)."""
    return session_id.split("!", 1)[0] if "!" in session_id else ""


def _hidden_fields(html: str) -> dict[str, str]:
    fields = re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html)
    return {name: unescape(value) for name, value in fields}


def web_server_token(base_url: str, org: dict[str, Any]) -> dict[str, Any]:
    """Access and refresh token from the web-server flow with PKCE: the user logs in (and
    allows, if asked) in what stands for a browser; the code is exchanged with the secret."""
    from authlib.integrations.requests_client import OAuth2Session

    client = OAuth2Session(
        org["client_id"],
        org["client_secret"],
        scope="api refresh_token",
        redirect_uri=CALLBACK,
        code_challenge_method="S256",
    )
    verifier = secrets.token_urlsafe(48)
    authorize_url, _ = client.create_authorization_url(
        f"{base_url}/services/oauth2/authorize", code_verifier=verifier
    )
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=60)
    login = {**_hidden_fields(page.text), "username": org["username"], "password": org["password"]}
    answer = browser.post(page.url, data=login, allow_redirects=False, timeout=60)
    while answer.status_code in (301, 302, 303) and not answer.headers["Location"].startswith(
        CALLBACK
    ):
        answer = browser.get(
            urljoin(answer.url, answer.headers["Location"]), allow_redirects=False, timeout=60
        )
    if answer.status_code == 200 and "Allow Access?" in answer.text:
        form = {**_hidden_fields(answer.text), "allow": "Authorize"}
        answer = browser.post(
            f"{base_url}/services/oauth2/authorize", data=form, allow_redirects=False, timeout=60
        )
    location = answer.headers.get("Location", "")
    assert location.startswith(CALLBACK), (answer.status_code, answer.text[:500])
    assert "code" in parse_qs(urlsplit(location).query), location
    token = client.fetch_token(
        f"{base_url}/services/oauth2/token", authorization_response=location, code_verifier=verifier
    )
    return dict(token)


def revoke(base_url: str, token: str) -> None:
    response = httpx.post(f"{base_url}/services/oauth2/revoke", data={"token": token}, timeout=60)
    assert response.status_code == 200, response.text


# --- Bulk API 2.0: data the client tests load or read, checked by plain REST calls ----------

# The Title of row 7 of every bulk data set: a comma, quotes and a line break (RFC 4180).
TRICKY_TITLE = 'Engineer, "bulk"\nsecond line'
TRICKY_ROW = 7


def rest(crm_url: str, token: dict[str, Any], method: str, path: str, **kwargs: Any) -> Any:
    """One REST call under /services/data/v59.0 with the token; its JSON answer (2xx)."""
    response = httpx.request(
        method,
        f"{crm_url}/services/data/v59.0{path}",
        timeout=60,
        headers={"Authorization": f"Bearer {token['access_token']}"},
        **kwargs,
    )
    assert response.is_success, response.text
    return response.json() if response.content else None


def rest_query(crm_url: str, token: dict[str, Any], soql: str) -> list[dict[str, Any]]:
    """Every record a SOQL query returns, page after page."""
    page = rest(crm_url, token, "GET", "/query", params={"q": soql})
    records = list(page["records"])
    while not page["done"]:
        page = rest(crm_url, token, "GET", page["nextRecordsUrl"].split("/v59.0", 1)[1])
        records += page["records"]
    return records


def tagged_contacts(crm_url: str, token: dict[str, Any], tag: str) -> list[dict[str, Any]]:
    """The org's contacts whose external id is `<tag>-…`, each once."""
    soql = (
        "SELECT Id, FirstName, LastName, Title, AccountId, External_Id__c FROM Contact "
        f"WHERE External_Id__c LIKE '{tag}-%'"
    )
    return rest_query(crm_url, token, soql)


def rest_account(crm_url: str, token: dict[str, Any], name: str) -> str:
    return str(rest(crm_url, token, "POST", "/sobjects/Account", json={"Name": name})["id"])


def rest_contacts(
    crm_url: str, token: dict[str, Any], tag: str, count: int, account_id: str
) -> dict[str, str]:
    """`count` contacts `<tag> n` (external id `<tag>-n`) under the account, made through
    sObject collections; row TRICKY_ROW has TRICKY_TITLE.
    Answers external id → record id."""
    ids: dict[str, str] = {}
    for start in range(0, count, 200):
        records = [
            {
                "attributes": {"type": "Contact"},
                "LastName": f"{tag} {n}",
                "External_Id__c": f"{tag}-{n}",
                "AccountId": account_id,
                **({"Title": TRICKY_TITLE} if n == TRICKY_ROW else {}),
            }
            for n in range(start, min(start + 200, count))
        ]
        saved = rest(
            crm_url,
            token,
            "POST",
            "/composite/sobjects",
            json={"allOrNone": True, "records": records},
        )
        ids.update({r["External_Id__c"]: s["id"] for r, s in zip(records, saved, strict=True)})
    return ids
