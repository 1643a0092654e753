"""`tandem up --https` serves the CRM over TLS with a certificate from a local CA."""

from __future__ import annotations

import ssl
from pathlib import Path

import httpx
import pytest

from tests.e2e.stack import running_stack

pytestmark = pytest.mark.e2e


def test_crm_serves_https_trusted_through_the_printed_ca(tmp_path: Path) -> None:
    with running_stack(tmp_path, https=True) as stack:
        trusted = httpx.get(f"{stack.crm_url}/healthz", verify=stack.verify)
        by_name = httpx.get(
            stack.crm_url.replace("127.0.0.1", "localhost") + "/healthz", verify=stack.verify
        )
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{stack.crm_url}/healthz", verify=ssl.create_default_context())

    assert trusted.status_code == 200
    assert by_name.json()["service"] == "crm"
    assert "CA file" in stack.log.read_text()
    assert str(stack.ca_file) in stack.log.read_text()


def test_crm_serves_http_and_https_side_by_side_from_the_local_ca(tmp_path: Path) -> None:
    with running_stack(tmp_path, https_port=True) as stack:
        assert stack.crm_https_url is not None
        plain = httpx.get(f"{stack.crm_url}/healthz")
        secure = httpx.get(f"{stack.crm_https_url}/healthz", verify=stack.verify)
        secure_discovery = httpx.get(
            f"{stack.crm_https_url}/.well-known/openid-configuration", verify=stack.verify
        ).json()
        plain_discovery = httpx.get(f"{stack.crm_url}/.well-known/openid-configuration").json()
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{stack.crm_https_url}/healthz", verify=ssl.create_default_context())

    https_port = stack.crm_https_url.rsplit(":", 1)[1]
    printed = stack.log.read_text()
    assert plain.json()["service"] == secure.json()["service"] == "crm"
    # Each port names itself in the URLs it hands out (token endpoint, instance URL).
    assert secure_discovery["token_endpoint"].startswith(f"https://localhost:{https_port}/")
    assert plain_discovery["token_endpoint"].startswith("http://localhost:")
    assert f"CRM (HTTPS) https://localhost:{https_port}/" in printed
    assert f"export NODE_EXTRA_CA_CERTS={stack.ca_file}" in printed
    assert f"export REQUESTS_CA_BUNDLE={stack.ca_file}" in printed
