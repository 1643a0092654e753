"""The instance URL API clients are sent to: one an ordinary resolver reaches by default (the
host the client called while My Domain hosts are `*.my.localhost`), My Domain or the login URL
when configured; the API then tells the org apart by the token, and another org's My Domain
host still refuses it."""

from __future__ import annotations

import pytest
from django.test import Client

from tandem.crm.oauth.identity import instance_url, my_domains_resolve
from tests.crm.oauth.conftest import jwt_token, make_app, pre_authorize

ADMIN = "AdminApprovedPreAuthorized"


@pytest.mark.parametrize(
    ("crm_url", "mode", "origin", "expected"),
    [
        ("http://localhost:8001", "auto", "http://127.0.0.1:8001", "http://127.0.0.1:8001"),
        ("http://localhost:8001", "auto", "http://localhost:8001", "http://localhost:8001"),
        (
            "http://localhost:8001",
            "auto",
            "http://acme.my.localhost:8001",
            "http://acme.my.localhost:8001",
        ),
        (
            "http://localhost:8001",
            "auto",
            "http://globex.my.localhost:8001",
            "http://acme.my.localhost:8001",
        ),
        ("http://localhost:8001", "auto", None, "http://localhost:8001"),
        ("http://127.0.0.1:8001", "auto", None, "http://127.0.0.1:8001"),
        (
            "https://crm.example.com",
            "auto",
            "https://crm.example.com",
            "https://acme.my.crm.example.com",
        ),
        (
            "http://localhost:8001",
            "my-domain",
            "http://127.0.0.1:8001",
            "http://acme.my.localhost:8001",
        ),
        ("http://localhost:8001", "login", "http://127.0.0.1:8001", "http://localhost:8001"),
        ("https://crm.example.com", "login", "https://crm.example.com", "https://crm.example.com"),
    ],
)
def test_instance_url_by_setting(org, settings, crm_url, mode, origin, expected):
    settings.CRM_URL, settings.OAUTH_INSTANCE_URL = crm_url, mode

    assert instance_url(org, origin) == expected


@pytest.mark.parametrize("mode", ["auto", "my-domain"])
def test_an_org_without_my_domain_gets_a_generic_url(org, settings, mode):
    org.my_domain = ""
    settings.OAUTH_INSTANCE_URL = mode

    assert instance_url(org, "http://127.0.0.1:8001") in {
        "http://127.0.0.1:8001",
        "http://localhost:8001",
    }


@pytest.mark.parametrize(
    ("crm_url", "resolves"),
    [
        ("http://localhost:8001", False),
        ("http://crm.localhost:8001", False),
        ("http://127.0.0.1:8001", False),
        ("http://[::1]:8001", False),
        ("https://crm.example.com", True),
    ],
)
def test_my_domains_resolve_only_under_a_dns_name(settings, crm_url, resolves):
    settings.CRM_URL = crm_url

    assert my_domains_resolve() is resolves


@pytest.fixture
def token_at_127(org, system_user):
    """A JWT bearer token requested at 127.0.0.1:8001, as Node and Python clients call."""
    app = make_app(org, permitted_users=ADMIN, ip_relaxation="BYPASS")
    pre_authorize(app, system_user)
    status, body = jwt_token(Client(HTTP_HOST="127.0.0.1:8001"), app, system_user)
    assert status == 200, body
    return body


def test_the_token_response_names_the_host_the_client_called(token_at_127, org, system_user):
    assert token_at_127["instance_url"] == "http://127.0.0.1:8001"
    assert token_at_127["id"] == f"http://localhost:8001/id/{org.id}/{system_user.id}"


def test_the_token_works_at_its_instance_url_and_the_identity_document_follows(
    token_at_127, org, system_user
):
    client = Client(HTTP_HOST="127.0.0.1:8001")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token_at_127['access_token']}"}

    api = client.get("/services/data/v62.0/limits", **bearer)
    document = client.get(f"/id/{org.id}/{system_user.id}", **bearer).json()

    assert api.status_code == 200, api.content
    assert document["urls"]["rest"] == "http://127.0.0.1:8001/services/data/v62.0/"
    assert document["urls"]["custom_domain"] == "http://acme.my.localhost:8001"


def test_the_token_is_refused_on_another_orgs_my_domain(token_at_127, org, other_org, system_user):
    client = Client(HTTP_HOST="globex.my.localhost:8001")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token_at_127['access_token']}"}

    api = client.get("/services/data/v62.0/limits", **bearer)
    identity = client.get(f"/id/{org.id}/{system_user.id}", **bearer)
    userinfo = client.get("/services/oauth2/userinfo", **bearer)

    assert api.status_code == 401
    assert identity.status_code == 401
    assert userinfo.status_code == 401


def test_the_token_works_on_its_own_orgs_my_domain(token_at_127, org, system_user):
    client = Client(HTTP_HOST="acme.my.localhost:8001")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {token_at_127['access_token']}"}

    assert client.get("/services/data/v62.0/limits", **bearer).status_code == 200
    assert client.get(f"/id/{org.id}/{system_user.id}", **bearer).status_code == 200
