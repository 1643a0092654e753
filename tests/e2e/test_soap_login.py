"""simple-salesforce, unmodified, logs in through the CRM's SOAP login() and uses the session.

simple-salesforce's username-password login is a SOAP `login()` call; `scratch_url` points it
at the CRM (plain http would do for the login itself, but every later call is https, so the
stack serves the CRM over HTTPS from its local CA).
"""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from simple_salesforce import Salesforce, SalesforceLogin
from simple_salesforce.exceptions import SalesforceAuthenticationFailed

from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack, running_stack

pytestmark = pytest.mark.e2e

# An org without a My Domain, so that the serverUrl names the stack's own host; the test
# machine's address is not a trusted range, so the security token is required.
SETUP = r"""
import json
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile, ProfileName
from tandem.crm.users.services import security_token_reset, user_create

org = org_create(name="Soap E2E")
admin = user_create(
    org=org, actor=None, username="admin@soape2e.test", email="admin@soape2e.test",
    first_name="Ada", last_name="Admin",
    profile=Profile.objects.get(org=org, name=ProfileName.SYSTEM_ADMINISTRATOR),
    password="Soap-e2e-password-1",
)
print(json.dumps({"org_id": org.pk, "user_id": admin.pk, "username": admin.username,
                  "password": "Soap-e2e-password-1", "token": security_token_reset(user=admin)}))
"""


@pytest.fixture(scope="module")
def https_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    with running_stack(tmp_path_factory.mktemp("soap-var"), https=True) as stack:
        yield stack


@pytest.fixture(scope="module")
def user(https_stack: RunningStack) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", SETUP],
        env={**https_stack.env, "TANDEM_SERVICE": "crm"},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.fixture(scope="module")
def session(https_stack: RunningStack) -> requests.Session:
    session = requests.Session()
    session.verify = str(https_stack.ca_file)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment overrides verify
    return session


def _crm_url(stack: RunningStack) -> str:
    """The CRM's address as `tandem up` prints it (by name, not by address)."""
    return stack.crm_url.replace("127.0.0.1", "localhost")


def _login(
    stack: RunningStack,
    user: dict[str, Any],
    session: requests.Session,
    password: str | None = None,
) -> tuple[str, str]:
    return SalesforceLogin(
        username=user["username"],
        password=password or user["password"],
        security_token=user["token"],
        scratch_url=_crm_url(stack),
        session=session,
    )


def test_salesforce_login_then_query_and_create_with_the_session(
    https_stack: RunningStack, user: dict[str, Any], session: requests.Session
) -> None:
    session_id, instance = _login(https_stack, user, session)
    sf = Salesforce(session_id=session_id, instance=instance, session=session, version="59.0")

    created = sf.Contact.create({"LastName": "Lovelace", "FirstName": "Ada"})
    found = sf.query("SELECT Id, Name FROM Contact WHERE LastName = 'Lovelace'")

    assert session_id.startswith(user["org_id"][:15] + "!")
    # serverUrl names the origin the client called, which it can reach (ADR 0520).
    assert instance == urlsplit(_crm_url(https_stack)).netloc
    assert created["success"] is True
    assert [r["Id"] for r in found["records"]] == [created["id"]]
    assert found["records"][0]["Name"] == "Ada Lovelace"


def test_a_wrong_password_raises_invalid_login(
    https_stack: RunningStack, user: dict[str, Any], session: requests.Session
) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as caught:
        _login(https_stack, user, session, password="not-the-password")

    assert caught.value.code == "INVALID_LOGIN"
    assert caught.value.auth_message == (
        "Invalid username, password, security token; or user locked out."
    )


def _raw_post(stack: RunningStack, head: str, body: bytes) -> bytes:
    """Send bytes as they are (no client would frame them this way) and read the answer."""
    parts = urlsplit(stack.crm_url)
    context = ssl.create_default_context(cafile=str(stack.ca_file))
    with (
        socket.create_connection((parts.hostname, parts.port), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=parts.hostname) as tls,
    ):
        tls.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while chunk := tls.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize(
    "body",
    [b"zz\r\n<x/>\r\n0\r\n\r\n", b"5\r\n<x/>\r\n0\r\n\r\n", b"ffffffffffffffffffff\r\nx\r\n"],
    ids=["not-hex", "short-chunk", "huge-size"],
)
def test_malformed_chunked_framing_gets_a_client_fault(
    https_stack: RunningStack, body: bytes
) -> None:
    host = urlsplit(https_stack.crm_url).netloc
    head = (
        f"POST /services/Soap/u/59.0 HTTP/1.1\r\nHost: {host}\r\nContent-Type: text/xml\r\n"
        "SOAPAction: login\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
    )

    answer = _raw_post(https_stack, head, body)

    status = int(answer.split(b" ", 2)[1])
    assert 400 <= status < 500, answer[:300]
    assert b"<faultcode>soapenv:Client</faultcode>" in answer
