"""Bearer tokens: the OAuth server's access tokens authenticate API calls, for their org only."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from tandem.crm.oauth.models import AccessToken
from tests.crm.api.conftest import V
from tests.crm.oauth.conftest import make_app

pytestmark = pytest.mark.django_db
Q = V + "/query?q=SELECT+Id+FROM+Contact"


def _token(user: Any, *, scope: str = "api", expires_in: int = 3600) -> str:
    raw = secrets.token_urlsafe(32)
    app = make_app(user.org).app
    AccessToken.objects.create(
        user=user,
        application=app,
        token="",
        token_checksum=hashlib.sha256(raw.encode()).hexdigest(),
        expires=timezone.now() + dt.timedelta(seconds=expires_in),
        scope=scope,
    )
    return raw


def _get(token: str, host: str = "localhost") -> Any:
    return Client().get(Q, headers={"Authorization": f"Bearer {token}"}, HTTP_HOST=host)


def test_access_token_with_api_scope_is_accepted(admin: Any) -> None:
    response = _get(_token(admin))

    assert response.status_code == 200


def test_full_scope_is_accepted(admin: Any) -> None:
    assert _get(_token(admin, scope="full")).status_code == 200


def test_token_without_api_scope_is_refused(admin: Any) -> None:
    response = _get(_token(admin, scope="openid id"))

    assert response.status_code == 401
    assert response.json()[0]["errorCode"] == "INVALID_SESSION_ID"


def test_expired_token_is_refused(admin: Any) -> None:
    assert _get(_token(admin, expires_in=-1)).status_code == 401


def test_unknown_token_is_refused(admin: Any) -> None:
    assert _get("not-a-token").status_code == 401


def test_token_is_refused_on_another_orgs_domain(admin: Any, outsider: Any) -> None:
    response = _get(_token(admin), host="globex.my.localhost")

    assert response.status_code == 401


def test_token_works_on_its_own_domain(admin: Any) -> None:
    assert _get(_token(admin), host="acme.my.localhost").status_code == 200


def test_inactive_user_is_refused(admin: Any) -> None:
    token = _token(admin)
    admin.is_active = False
    admin.save()

    assert _get(token).status_code == 401


def test_an_org_app_named_like_marketing_cloud_is_still_counted(admin: Any) -> None:
    token = _token(admin)
    AccessToken.objects.update(application=_app_named(admin, "Salesforce Marketing Cloud"))

    response = _get(token)

    assert response["Sforce-Limit-Info"] == f"api-usage=1/{admin.org.api_daily_limit}"


def _app_named(user: Any, name: str) -> Any:
    app = make_app(user.org).app
    app.name = name
    app.save()
    return app


@pytest.mark.parametrize("with_header", [False, True], ids=["query-only", "query-and-header"])
def test_access_token_in_the_query_string_is_refused(admin: Any, with_header: bool) -> None:
    """RFC 9700 §4.3.2: Salesforce's INVALID_SESSION_ID, even beside a valid header."""
    token = _token(admin)
    headers = {"Authorization": f"Bearer {token}"} if with_header else {}

    response = Client().get(Q + "&access_token=" + token, headers=headers, HTTP_HOST="localhost")

    assert response.status_code == 401
    [error] = response.json()
    assert error["errorCode"] == "INVALID_SESSION_ID"
    assert "query string" in error["message"]
    assert _get(token).status_code == 200
