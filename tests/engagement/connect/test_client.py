"""The HTTP CrmClient against a mock transport: retries, errors, the assertion, usage header."""

from __future__ import annotations

import time
from email.utils import formatdate

import httpx
import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tandem.engagement.connect.client import CrmError, CrmToken, HttpCrmClient

TOKEN = {
    "access_token": "00Dxx!secret",
    "instance_url": "https://acme.my.crm.test",
    "id": "https://crm.test/id/00D/005",
    "token_type": "Bearer",
    "issued_at": "1",
}


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def client_with(handler: object, key: rsa.RSAPrivateKey | None = None) -> HttpCrmClient:
    return HttpCrmClient(
        consumer_key="3MVG9key",
        private_key=pem(key) if key else "x",
        transport=httpx.MockTransport(handler),
        retries=2,
    )  # type: ignore[arg-type]


TOKEN_REST = CrmToken("00D!x", "https://acme.my.crm.test", "https://crm.test/id/00D/005", 0.0)


def test_a_get_is_retried_after_a_transient_503() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(503) if len(seen) < 2 else httpx.Response(200, json={"records": []})

    result = client_with(handler).query(token=TOKEN_REST, soql="SELECT Id FROM Contact")

    assert seen == ["GET", "GET"]
    assert result.data == {"records": []}


def test_a_post_answered_503_is_not_sent_again() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        return httpx.Response(503) if len(seen) < 2 else httpx.Response(200, json=TOKEN)

    with pytest.raises(CrmError):
        client_with(handler).password_login(
            token_url="https://crm.test", username="u", password="p"
        )

    assert seen == ["POST"]


def test_a_post_whose_answer_was_lost_is_not_sent_again() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        raise httpx.ReadTimeout("no answer", request=request)

    with pytest.raises(CrmError, match="answer was lost"):
        client_with(handler).record_create(token=TOKEN_REST, sobject="Lead", fields={})

    assert seen == ["POST"]


def test_a_post_that_never_reached_the_crm_is_sent_again() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) < 2:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(200, json=TOKEN)

    token = client_with(handler).password_login(
        token_url="https://crm.test", username="u", password="p"
    )

    assert seen == ["POST", "POST"]
    assert token.instance_url == "https://acme.my.crm.test"


def test_an_upsert_by_external_id_is_retried_after_a_lost_answer() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.method)
        if len(seen) < 2:
            raise httpx.ReadTimeout("no answer", request=request)
        return httpx.Response(200, json={"id": "a0E", "success": True, "created": False})

    client_with(handler).record_upsert(
        token=TOKEN_REST, sobject="X__c", field="Key__c", key="1:2", fields={}
    )

    assert seen == ["PATCH", "PATCH"]


def test_an_oauth_error_is_not_retried_and_keeps_the_crm_pair() -> None:
    seen: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(1)
        return httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "authentication failure"}
        )

    with pytest.raises(CrmError) as caught:
        client_with(handler).password_login(
            token_url="https://crm.test", username="u", password="p"
        )

    assert len(seen) == 1
    assert (caught.value.code, caught.value.message) == ("invalid_grant", "authentication failure")


def test_unreadable_private_key_is_a_clear_error() -> None:
    with pytest.raises(CrmError, match="not_configured"):
        client_with(lambda request: httpx.Response(200, json=TOKEN)).jwt_login(
            token_url="https://crm.test", audience="https://crm.test", username="u"
        )


def test_unreachable_crm_is_a_clear_error_after_the_retries(key: rsa.RSAPrivateKey) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused")

    with pytest.raises(CrmError, match="unreachable"):
        client_with(handler, key).jwt_login(
            token_url="https://crm.test", audience="https://crm.test", username="u"
        )


def test_jwt_assertion_carries_salesforce_claims(key: rsa.RSAPrivateKey) -> None:
    forms: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(request.content)
        return httpx.Response(200, json=TOKEN)

    client_with(handler, key).jwt_login(
        token_url="https://acme.my.crm.test",
        audience="https://acme.my.crm.test/",
        username="maria@x",
    )

    form = dict(pair.split("=", 1) for pair in forms[0].decode().split("&"))
    claims = jwt.decode(
        form["assertion"],
        key.public_key(),
        algorithms=["RS256"],
        audience="https://acme.my.crm.test",
    )
    assert form["grant_type"] == "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer"
    assert (claims["iss"], claims["sub"]) == ("3MVG9key", "maria@x")
    assert claims["exp"] - time.time() <= 180


def test_localhost_subdomains_go_to_loopback_with_their_host() -> None:
    requests: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, json=TOKEN)

    client_with(handler).password_login(
        token_url="http://acme.my.localhost:8001", username="u", password="p"
    )

    assert requests[0].url.host == "127.0.0.1"
    assert requests[0].headers["host"] == "acme.my.localhost:8001"


def test_rest_answer_carries_the_limit_header() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            201,
            json={"id": "a00", "success": True},
            headers={"Sforce-Limit-Info": "api-usage=18/5000"},
        )

    token = CrmToken("t", "https://crm.test", "https://crm.test/id/1/2", 0.0)
    result = client_with(handler).record_create(token=token, sobject="Lead", fields={})

    assert result.usage is not None
    assert (result.usage.used, result.usage.limit) == (18, 5000)


def test_rest_error_uses_the_salesforce_error_list() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401, json=[{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        )

    token = CrmToken("t", "https://crm.test", "https://crm.test/id/1/2", 0.0)
    with pytest.raises(CrmError) as caught:
        client_with(handler).query(token=token, soql="SELECT Id FROM Lead")

    assert (caught.value.code, caught.value.status) == ("INVALID_SESSION_ID", 401)


def test_a_token_never_shows_in_its_repr() -> None:
    assert "secret" not in repr(CrmToken("00D!secret", "https://crm.test", "id", 0.0))


@pytest.mark.parametrize(("skew", "way"), [(600, "ahead of"), (-600, "behind")])
def test_a_refused_assertion_names_clocks_that_differ_beyond_its_life(
    key: rsa.RSAPrivateKey, skew: int, way: str
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        crm_clock = formatdate(time.time() - skew, usegmt=True)
        body = {"error": "invalid_grant", "error_description": "invalid assertion"}
        return httpx.Response(400, json=body, headers={"Date": crm_clock})

    with (
        time_machine.travel(1_800_000_000, tick=False),  # whole seconds, as in `Date`
        pytest.raises(CrmError) as refused,
    ):
        client_with(handler, key).jwt_login(
            token_url="https://crm.test", audience="https://crm.test", username="u"
        )

    assert refused.value.code == "invalid_grant"
    assert refused.value.message == (
        f"invalid assertion (this server's clock is 600 s {way} the CRM's, and an assertion "
        "lives 150 s: set both clocks right, e.g. with NTP, then try again)"
    )


@pytest.mark.parametrize("skew", [0, 29, -29])
def test_a_refused_assertion_says_nothing_of_clocks_that_agree(
    key: rsa.RSAPrivateKey, skew: int
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": "invalid_grant", "error_description": "user hasn't approved this consumer"}
        return httpx.Response(
            400, json=body, headers={"Date": formatdate(time.time() - skew, usegmt=True)}
        )

    with pytest.raises(CrmError) as refused:
        client_with(handler, key).jwt_login(
            token_url="https://crm.test", audience="https://crm.test", username="u"
        )

    assert refused.value.message == "user hasn't approved this consumer"


def test_a_refused_password_login_says_nothing_of_clocks() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        body = {"error": "invalid_grant", "error_description": "authentication failure"}
        return httpx.Response(400, json=body, headers={"Date": formatdate(0, usegmt=True)})

    with pytest.raises(CrmError) as refused:
        client_with(handler).password_login(
            token_url="https://crm.test", username="u", password="p"
        )

    assert refused.value.message == "authentication failure"
