"""Served over https, each service sends Secure cookies and HSTS; X-Forwarded-Proto is believed
only from TANDEM_TRUSTED_PROXIES."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

YEAR = 365 * 24 * 60 * 60
NAMES = (
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_HSTS_SECONDS",
    "SECURE_PROXY_SSL_HEADER",
)


def _settings(tmp_path: Path, **env: str) -> dict[str, Any]:
    """The security settings a fresh process computes from this environment."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TANDEM_")}
    code = (
        "import json, config.settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {NAMES!r}}}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "TANDEM_VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    values: dict[str, Any] = json.loads(result.stdout)
    return values


SECURE = {
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
    "SECURE_HSTS_SECONDS": YEAR,
    "SECURE_PROXY_SSL_HEADER": None,
}
PLAIN = {
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
    "SECURE_HSTS_SECONDS": 0,
    "SECURE_PROXY_SSL_HEADER": None,
}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"TANDEM_SERVICE": "crm", "TANDEM_CRM_URL": "https://crm.example.com"}, SECURE),
        (
            {"TANDEM_SERVICE": "engagement", "TANDEM_ENGAGEMENT_URL": "https://mc.example.com"},
            SECURE,
        ),
        # The other service's https says nothing about this one's.
        ({"TANDEM_SERVICE": "crm", "TANDEM_ENGAGEMENT_URL": "https://mc.example.com"}, PLAIN),
        ({"TANDEM_SERVICE": "engagement", "TANDEM_CRM_URL": "https://crm.example.com"}, PLAIN),
        # `tandem up --https`: Secure cookies; no HSTS, which would pin every localhost port.
        (
            {"TANDEM_SERVICE": "crm", "TANDEM_CRM_URL": "https://localhost:8001"},
            SECURE | {"SECURE_HSTS_SECONDS": 0},
        ),
        # `tandem up --crm-https-port` with the deployer's own (http) URL.
        (
            {
                "TANDEM_SERVICE": "crm",
                "TANDEM_CRM_URL": "http://crm.example.com",
                "TANDEM_SECURE_COOKIES": "1",
            },
            SECURE,
        ),
        (
            {
                "TANDEM_SERVICE": "crm",
                "TANDEM_CRM_URL": "https://crm.example.com",
                "TANDEM_HSTS_SECONDS": "600",
            },
            SECURE | {"SECURE_HSTS_SECONDS": 600},
        ),
        (
            {"TANDEM_SERVICE": "engagement", "TANDEM_TRUSTED_PROXIES": "10.0.0.0/8"},
            PLAIN | {"SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"]},
        ),
    ],
    ids=[
        "crm",
        "engagement",
        "crm-plain",
        "engagement-plain",
        "localhost",
        "secure-cookies",
        "hsts-seconds",
        "proxy",
    ],
)
def test_https_settings_follow_the_services_own_url(
    tmp_path: Path, env: dict[str, str], expected: dict[str, Any]
) -> None:
    assert _settings(tmp_path, **env) == expected


@pytest.fixture
def behind_proxy(settings: Any) -> None:
    """A service served over https behind a TLS-terminating proxy at 10.0.0.1."""
    settings.TRUSTED_PROXIES = ["10.0.0.1"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SECURE_HSTS_SECONDS = YEAR


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/login/", "/services/oauth2/token"])
def test_forwarded_https_is_believed_only_from_a_trusted_proxy(
    behind_proxy: None, path: str
) -> None:
    """From the proxy, X-Forwarded-Proto: https makes the request secure (HSTS is sent, also on
    the token endpoint's short middleware chain); the same header from anyone else is ignored."""
    client = Client(HTTP_HOST="localhost")

    proxied = client.get(path, HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.0.0.1")
    spoofed = client.get(path, HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9")
    plain = client.get(path, REMOTE_ADDR="10.0.0.1")

    assert proxied["Strict-Transport-Security"] == f"max-age={YEAR}"
    assert proxied.wsgi_request.is_secure()
    for response in (spoofed, plain):
        assert "Strict-Transport-Security" not in response
        assert not response.wsgi_request.is_secure()
