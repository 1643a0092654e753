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
        by_name = httpx.get(stack.crm_url.replace("127.0.0.1", "localhost") + "/healthz",
                            verify=stack.verify)  # fmt: skip
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{stack.crm_url}/healthz", verify=ssl.create_default_context())

    assert trusted.status_code == 200
    assert by_name.json()["service"] == "crm"
    assert "CA file" in stack.log.read_text()
    assert str(stack.ca_file) in stack.log.read_text()
