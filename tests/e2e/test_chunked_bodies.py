"""Chunked request bodies (what Node's fetch sends: jsforce, the sf CLI) against the live CRM
served by granian: a token request (httpx, and curl as a user sends it) and a REST write work;
broken framing, an over-size body and an unknown transfer coding get a 400 in the endpoint's own
error shape, and write nothing."""

from __future__ import annotations

import json
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tandem.core.paths import PROJECT_ROOT
from tests.e2e.stack import RunningStack

pytestmark = pytest.mark.e2e

PASSWORD = "Chunked-e2e-password-1"
SETUP = """
import json, os
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import connected_app_create
from tandem.crm.orgs.models import TrustedIpRange
from tandem.crm.orgs.services import org_create
from tandem.crm.users.models import Profile
from tandem.crm.users.services import user_create
org = org_create(name="Chunked Org", my_domain=os.environ["CHUNKED_DOMAIN"])
org.allow_username_password_flows = True
org.save()
TrustedIpRange.objects.create(org=org, start_address="127.0.0.1", end_address="127.0.0.1")
user = user_create(org=org, actor=None, username=os.environ["CHUNKED_USER"],
                   email=os.environ["CHUNKED_USER"], last_name="Chunked",
                   profile=Profile.objects.get(org=org, name="System Administrator"),
                   password=os.environ["CHUNKED_PASSWORD"])
created = connected_app_create(org=org, actor=None, name="Chunked Client",
                               callback_urls=["https://client.example/cb"], scopes=["api"])
ConnectedApp.objects.filter(pk=created.app.pk).update(
    authorization_grant_type=ConnectedApp.GRANT_PASSWORD)
print(json.dumps({"key": created.app.client_id, "secret": created.consumer_secret}))
"""


@pytest.fixture(scope="module")
def app(stack: RunningStack) -> dict[str, str]:
    suffix = secrets.token_hex(3)
    username = f"chunked{suffix}@example.test"
    env = {
        **stack.env,
        "TANDEM_SERVICE": "crm",
        "CHUNKED_DOMAIN": f"chunked{suffix}",
        "CHUNKED_USER": username,
        "CHUNKED_PASSWORD": PASSWORD,
    }
    done = subprocess.run(
        [sys.executable, "-m", "tandem", "crm", "shell", "-c", SETUP],
        env=env,
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "username": username}


def _chunks(data: bytes) -> Iterator[bytes]:
    """A streamed body: httpx sends it with Transfer-Encoding: chunked, no Content-Length."""
    for start in range(0, len(data), 7):
        yield data[start : start + 7]


def _password_form(app: dict[str, str]) -> bytes:
    return (
        httpx.QueryParams(
            grant_type="password",
            client_id=app["key"],
            client_secret=app["secret"],
            username=app["username"],
            password=PASSWORD,
        )
        .__str__()
        .encode()
    )


@pytest.fixture(scope="module")
def token(stack: RunningStack, app: dict[str, str]) -> dict[str, Any]:
    response = httpx.post(
        f"{stack.crm_url}/services/oauth2/token",
        content=_chunks(_password_form(app)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 200, response.text
    return dict(response.json())


def _raw(stack: RunningStack, head: str, body: bytes) -> tuple[int, bytes]:
    """Send bytes as they are (framing included) and read the whole answer."""
    parts = urlsplit(stack.crm_url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as conn:
        conn.sendall(head.encode() + b"\r\n" + body)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and _complete(answer):
                break
    status = int(answer.split(b" ", 2)[1])
    return status, answer.split(b"\r\n\r\n", 1)[1]


def _complete(answer: bytes) -> bool:
    head, _, body = answer.partition(b"\r\n\r\n")
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return False


def _accounts_named(stack: RunningStack, token: dict[str, Any], name: str) -> int:
    response = httpx.get(
        f"{stack.crm_url}/services/data/v62.0/query",
        params={"q": f"SELECT Id FROM Account WHERE Name = '{name}'"},
        headers={"Authorization": f"Bearer {token['access_token']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return int(response.json()["totalSize"])


def test_a_chunked_token_request_gets_a_token(stack: RunningStack, token: dict[str, Any]) -> None:
    assert token["access_token"]
    assert token["token_type"] == "Bearer"
    assert token["instance_url"] == stack.crm_url  # where the client called: it resolves


def test_curl_with_a_chunked_body_gets_a_token(
    stack: RunningStack, app: dict[str, str], tmp_path: Path
) -> None:
    """`curl -H 'Transfer-Encoding: chunked' --data …`: the request the issue reproduced with."""
    trace = tmp_path / "trace.txt"
    form = _password_form(app).decode()

    done = subprocess.run(
        [
            "curl",
            "--silent",
            "--show-error",
            "--trace-ascii",
            str(trace),
            "-H",
            "Transfer-Encoding: chunked",
            "--data",
            form,
            f"{stack.crm_url}/services/oauth2/token",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    sent_head = trace.read_text().split("=> Send header", 1)[1].split("<= Recv header", 1)[0]
    assert "Transfer-Encoding: chunked" in sent_head
    assert "Content-Length" not in sent_head
    token = json.loads(done.stdout)
    assert token["access_token"].startswith(token["id"].split("/")[-2][:15] + "!")
    assert token["token_type"] == "Bearer"


def test_the_instance_url_and_the_id_url_answer(stack: RunningStack, token: dict[str, Any]) -> None:
    bearer = {"Authorization": f"Bearer {token['access_token']}"}

    api = httpx.get(f"{token['instance_url']}/services/data/v62.0/limits", headers=bearer)
    identity = httpx.get(token["id"], headers=bearer)

    assert api.status_code == 200, api.text
    assert identity.status_code == 200, identity.text
    id_origin = token["id"].split("/id/")[0]  # the CRM URL, which ordinary resolvers reach
    assert identity.json()["urls"]["rest"] == f"{id_origin}/services/data/v62.0/"


def test_a_chunked_json_body_creates_a_record(stack: RunningStack, token: dict[str, Any]) -> None:
    name = f"Chunked {secrets.token_hex(4)}"
    body = json.dumps({"Name": name}).encode()

    response = httpx.post(
        f"{stack.crm_url}/services/data/v62.0/sobjects/Account",
        content=_chunks(body),
        headers={
            "Authorization": f"Bearer {token['access_token']}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )

    assert response.status_code == 201, response.text
    assert _accounts_named(stack, token, name) == 1


def test_broken_chunk_framing_on_the_token_endpoint_is_an_oauth_error(
    stack: RunningStack,
) -> None:
    head = (
        "POST /services/oauth2/token HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
    )

    status, body = _raw(stack, head, b"ZZ\r\ngrant_type=password\r\n0\r\n\r\n")

    assert status == 400
    assert set(json.loads(body)) == {"error", "error_description"}


def test_broken_chunk_framing_on_the_rest_api_writes_nothing(
    stack: RunningStack, token: dict[str, Any]
) -> None:
    name = f"Broken {secrets.token_hex(4)}"
    head = (
        "POST /services/data/v62.0/sobjects/Account HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token['access_token']}\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n"
    )
    payload = json.dumps({"Name": name}).encode()
    broken = b"4\r\n" + payload[:4] + b"XX" + payload[4:] + b"\r\n0\r\n\r\n"  # no CRLF after 4

    status, body = _raw(stack, head, broken)

    assert status == 400
    assert json.loads(body)[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert _accounts_named(stack, token, name) == 0


def test_an_over_size_chunked_token_request_is_an_oauth_error(
    stack: RunningStack, app: dict[str, str]
) -> None:
    body = _password_form(app) + b"&padding=" + b"x" * (64 * 1024)

    response = httpx.post(
        f"{stack.crm_url}/services/oauth2/token",
        content=_chunks(body),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_an_unknown_transfer_coding_is_refused(stack: RunningStack, token: dict[str, Any]) -> None:
    name = f"Gzip {secrets.token_hex(4)}"
    head = (
        "POST /services/data/v62.0/sobjects/Account HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token['access_token']}\r\nConnection: close\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n"
    )
    payload = json.dumps({"Name": name}).encode()

    status, body = _raw(stack, head, f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n\r\n")

    assert status == 400
    assert json.loads(body) == [
        {"message": "unsupported transfer coding", "errorCode": "JSON_PARSER_ERROR"}
    ]
    assert _accounts_named(stack, token, name) == 0
