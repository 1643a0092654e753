"""The legacy login URL and the CRM's answers: only the configured CRM and its My Domain hosts,
over https except on loopback. The password never leaves for another host (SSRF)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.connect.client import CrmError, HttpCrmClient
from tandem.engagement.connect.crm_hosts import crm_url_problem
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.connect.models import CrmConnection
from tandem.engagement.connect.services import connection_legacy_connect
from tests.engagement.connect.conftest import FakeCrm

TOKEN = {"access_token": "00D!x", "instance_url": "https://acme.my.crm.test"}


@pytest.mark.parametrize(
    "url",
    [
        "https://crm.test",
        "https://crm.test:8443/services",
        "https://acme.my.crm.test",
        "https://ACME.my.crm.test/id/00D/005",
    ],
)
def test_the_crm_and_its_my_domain_hosts_are_accepted(url: str) -> None:
    assert crm_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("https://evil.test", "neither the CRM"),
        ("https://crm.test.evil.test", "neither the CRM"),
        ("https://a.b.my.crm.test", "neither the CRM"),
        ("https://.my.crm.test", "neither the CRM"),
        ("https://169.254.169.254/latest", "neither the CRM"),
        ("http://crm.test", "must use https"),
        ("http://acme.my.crm.test", "must use https"),
        ("https://user:pw@crm.test", "carries credentials"),
        ("ftp://crm.test", "not an http(s) URL"),
        ("https://crm.test:99999", "not a valid URL"),
        ("crm.test", "not an http(s) URL"),
    ],
)
def test_other_urls_are_refused_with_the_reason(url: str, why: str) -> None:
    problem = crm_url_problem(url)
    assert problem is not None
    assert why in problem


@pytest.mark.parametrize(
    ("crm_url", "url"),
    [
        ("http://localhost:8001", "http://localhost:8001"),
        ("http://localhost:8001", "http://acme.my.localhost:8001"),
        ("http://127.0.0.1:8001", "http://127.0.0.1:8001"),
    ],
)
def test_plain_http_is_allowed_on_loopback(settings: Any, crm_url: str, url: str) -> None:
    settings.CRM_URL = crm_url

    assert crm_url_problem(url) is None


@pytest.mark.parametrize("login_url", ["https://evil.test", "http://crm.test"])
def test_legacy_connect_to_another_host_posts_nothing_and_stores_nothing(
    crm: FakeCrm, admin: User, account: Account, login_url: str
) -> None:
    with pytest.raises(ConnectError) as refused:
        connection_legacy_connect(
            actor=admin,
            account=account,
            login_url=login_url,
            username="system@acme.test",
            password="pw",
            security_token="TOKEN",
        )

    assert refused.value.field == "login_url"
    assert crm.calls == []  # the password was sent nowhere
    assert not CrmConnection.objects.exists()


def _client(answer: dict[str, str], seen: list[str]) -> HttpCrmClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=answer)

    return HttpCrmClient(
        consumer_key="3MVG9key", private_key="x", transport=httpx.MockTransport(handler)
    )


@pytest.mark.parametrize(
    "answer",
    [
        {**TOKEN, "id": "https://evil.test/id/00D/005"},
        {**TOKEN, "id": "https://crm.test/id/00D/005", "instance_url": "http://10.0.0.5"},
    ],
)
def test_a_token_answer_naming_another_host_is_refused_and_not_followed(
    answer: dict[str, str],
) -> None:
    seen: list[str] = []

    with pytest.raises(CrmError) as refused:
        _client(answer, seen).password_login(
            token_url="https://crm.test", username="u", password="p"
        )

    assert refused.value.code == "untrusted_url"
    assert seen == ["https://crm.test/services/oauth2/token"]
