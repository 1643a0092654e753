"""The RFC 7523 grant on oauthlib, against a fake validator (the data side is tested elsewhere)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import pytest
import time_machine
from cryptography.hazmat.primitives import serialization
from oauthlib.common import Request
from oauthlib.oauth2 import BearerToken

from tandem.crm.oauth.errors import SalesforceOAuthError
from tandem.crm.oauth.jwt_bearer import JWT_BEARER, JWTBearerGrant
from tests.crm.oauth.jwtkeys import assertion, key_pair

AUD = "http://localhost:8001"
# The parameter tables below read the clock when the module is collected; their tests run at that
# instant, however long the run before them took.
COLLECTED_AT = time.time()


@dataclass
class FakeClient:
    client_id: str = "KEY1"
    certificate: str = ""


@dataclass
class FakeValidator:
    clients: dict[str, FakeClient]
    seen: set[str] = field(default_factory=set)
    saved: list[dict[str, Any]] = field(default_factory=list)
    denial: SalesforceOAuthError | None = None
    refusals: list[tuple[str, str]] = field(default_factory=list)

    def jwt_load_client(self, client_id, request):
        return self.clients.get(client_id)

    def jwt_certificate(self, client):
        return client.certificate

    def jwt_audience_allowed(self, audience, request):
        return audience in {AUD, "http://acme.my.localhost:8001"}

    def jwt_load_user(self, username, client, audience, request):
        return username

    def jwt_claim_replayed(self, client, key, expires_at):
        if key in self.seen:
            return True
        self.seen.add(key)
        return False

    def jwt_authorize(self, request):
        if self.denial:
            raise self.denial
        request.scopes = ["api"]

    def jwt_refusal_record(self, client, username, status, request):
        self.refusals.append((username, status))

    def save_token(self, token, request):
        self.saved.append(token)

    # BearerToken asks these.
    def get_default_scopes(self, client_id, request):
        return ["api"]


def _run(validator: FakeValidator, **params: str) -> tuple[int, dict[str, Any]]:
    body = {"grant_type": JWT_BEARER, **params}
    request = Request("http://localhost/services/oauth2/token", "POST", body, {})
    grant = JWTBearerGrant(validator)
    _, text, status = grant.create_token_response(request, BearerToken(validator))
    return status, json.loads(text)


@pytest.fixture
def validator() -> FakeValidator:
    return FakeValidator(clients={"KEY1": FakeClient(certificate=key_pair()[1])})


def test_valid_assertion_issues_an_access_token_and_no_refresh_token(validator):
    status, body = _run(validator, assertion=assertion(iss="KEY1", sub="ann@acme.test", aud=AUD))

    assert status == 200
    assert body["access_token"]
    assert "refresh_token" not in body
    assert len(validator.saved) == 1


def test_my_domain_audience_is_accepted(validator):
    status, _ = _run(
        validator,
        assertion=assertion(iss="KEY1", sub="a@b.c", aud="http://acme.my.localhost:8001/"),
    )

    assert status == 200


@pytest.mark.parametrize(
    ("claims", "pair"),
    [
        ({"aud": "https://login.salesforce.com"}, ("invalid_grant", "audience validation failed")),
        ({"exp": str(int(time.time()) - 60)}, ("invalid_grant", "invalid assertion")),
        ({"exp": int(time.time() * 1000) - 60_000}, ("invalid_grant", "invalid assertion")),
        ({"exp": int(time.time() * 1000) + 600_000}, ("invalid_grant", "invalid assertion")),
        ({"exp": f"{int(time.time()) + 60}abc"}, ("invalid_grant", "invalid assertion")),
        ({"exp": " 1"}, ("invalid_grant", "invalid assertion")),
        ({"exp": ""}, ("invalid_grant", "invalid assertion")),
        ({"exp": "9" * 40}, ("invalid_grant", "invalid assertion")),
        ({"exp": 1e300}, ("invalid_grant", "invalid assertion")),
        ({"exp": [int(time.time()) + 60]}, ("invalid_grant", "invalid assertion")),
        ({"iss": "NOPE"}, ("invalid_client_id", "client identifier invalid")),
        ({"lifetime": 600}, ("invalid_grant", "invalid assertion")),
        ({"lifetime": -60}, ("invalid_grant", "invalid assertion")),
        ({"key_name": "attacker"}, ("invalid_grant", "invalid assertion")),
        ({"sub": None}, ("invalid_grant", "invalid assertion")),
        ({"nbf": int(time.time()) + 3600}, ("invalid_grant", "invalid assertion")),
        ({"iat": int(time.time()) + 3600}, ("invalid_grant", "invalid assertion")),
        ({"iat": "yesterday"}, ("invalid_grant", "invalid assertion")),
        ({"exp": None}, ("invalid_grant", "invalid assertion")),
        ({"exp": True}, ("invalid_grant", "invalid assertion")),
    ],
)
def test_bad_assertions_get_the_salesforce_pair_and_no_token(validator, claims, pair):
    params = {"iss": "KEY1", "sub": "a@b.c", "aud": AUD} | claims

    with time_machine.travel(COLLECTED_AT, tick=False):
        status, body = _run(validator, assertion=assertion(**params))

    assert status == 400
    assert (body["error"], body["error_description"]) == pair
    assert validator.saved == []


@pytest.mark.parametrize(
    "exp",
    [
        pytest.param(lambda now: int(now) + 60, id="seconds"),
        pytest.param(lambda now: now + 60.5, id="fractional seconds"),
        pytest.param(lambda now: str(int(now) + 180), id="numeric string (simple-salesforce)"),
        pytest.param(lambda now: int(now * 1000) + 300, id="milliseconds (sf CLI)"),
        pytest.param(lambda now: str(int(now * 1000) + 300), id="milliseconds as a string"),
        pytest.param(lambda now: int(now) - 2, id="just past, within the clock skew"),
    ],
)
def test_exp_forms_salesforce_accepts_issue_a_token(validator, exp):
    signed = assertion(iss="KEY1", sub="a@b.c", aud=AUD, exp=exp(time.time()))

    status, body = _run(validator, assertion=signed)

    assert status == 200, body
    assert len(validator.saved) == 1
    assert validator.refusals == []


@pytest.mark.parametrize(
    ("claims", "recorded"),
    [
        ({"exp": int(time.time()) - 60}, "Failed: Assertion expired"),
        ({"exp": str(int(time.time() * 1000) - 60_000)}, "Failed: Assertion expired"),
        ({"lifetime": 600}, "Failed: Invalid assertion"),
        ({"key_name": "attacker"}, "Failed: Invalid assertion"),
        ({"aud": "https://elsewhere.example"}, "Failed: Audience validation failed"),
    ],
)
def test_each_refusal_of_a_known_app_is_recorded_for_the_named_user(validator, claims, recorded):
    params = {"iss": "KEY1", "sub": "a@b.c", "aud": AUD} | claims

    status, _body = _run(validator, assertion=assertion(**params))

    assert status == 400
    assert validator.refusals == [("a@b.c", recorded)]
    assert validator.saved == []


def test_an_unsigned_assertion_is_recorded_as_invalid(validator):
    claims = {"iss": "KEY1", "sub": "a@b.c", "aud": AUD, "exp": int(time.time()) + 60}

    status, _body = _run(
        validator,
        assertion=jwt.encode(claims, "a shared secret of 32 bytes or more", algorithm="HS256"),
    )

    assert status == 400
    assert validator.refusals == [("a@b.c", "Failed: Invalid assertion")]


def test_a_refusal_for_an_unknown_app_records_nothing(validator):
    status, _body = _run(validator, assertion=assertion(iss="NOPE", sub="a@b.c", aud=AUD))

    assert status == 400
    assert validator.refusals == []


def test_claims_changed_after_signing_are_refused(validator):
    header, _claims, signature = assertion(iss="KEY1", sub="a@b.c", aud=AUD).split(".")
    forged = jwt.utils.base64url_encode(
        json.dumps(
            {"iss": "KEY1", "sub": "admin@b.c", "aud": AUD, "exp": int(time.time()) + 60}
        ).encode()
    ).decode()

    status, body = _run(validator, assertion=f"{header}.{forged}.{signature}")

    assert (status, body["error_description"]) == (400, "invalid assertion")
    assert validator.saved == []


def test_prn_wins_over_sub(validator):
    captured = {}
    validator.jwt_load_user = lambda username, *a: captured.setdefault("u", username)  # type: ignore[method-assign]

    _run(validator, assertion=assertion(iss="KEY1", sub="sub@x.y", prn="prn@x.y", aud=AUD))

    assert captured["u"] == "prn@x.y"


def test_replayed_jti_is_refused(validator):
    signed = assertion(iss="KEY1", sub="a@b.c", aud=AUD)
    _run(validator, assertion=signed)

    status, body = _run(validator, assertion=signed)

    assert status == 400
    assert body["error_description"] == "invalid assertion"
    assert len(validator.saved) == 1
    assert validator.refusals == [("a@b.c", "Failed: Assertion replayed")]


def _forged(claims: dict[str, Any], alg: str, key: bytes) -> str:
    """A JWT signed by hand (PyJWT refuses to use a PEM as an HMAC secret, as it should)."""

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")

    header = part(json.dumps({"alg": alg, "typ": "JWT"}).encode())
    payload = part(json.dumps(claims).encode())
    signing_input = f"{header}.{payload}".encode()
    if alg == "none":
        return f"{header}.{payload}."
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
    return f"{header}.{payload}.{part(hmac.new(key, signing_input, digest).digest())}"


def _certificate_materials() -> dict[str, bytes]:
    """What an attacker can read of the app's key: its certificate and public key, as PEM."""
    private, cert = key_pair()
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return {"certificate": cert.encode(), "public key": public}


@pytest.mark.parametrize("alg", ["HS256", "HS512", "none"])
@pytest.mark.parametrize("material", ["certificate", "public key"])
def test_other_algorithms_are_refused_even_keyed_with_the_certificate(validator, alg, material):
    """Algorithm confusion: an HMAC keyed with the app's public certificate (or no signature)."""
    claims = {
        "iss": "KEY1",
        "sub": "a@b.c",
        "aud": AUD,
        "exp": int(time.time()) + 60,
        "jti": uuid.uuid4().hex,
    }
    forged = _forged(claims, alg, _certificate_materials()[material])
    # The forgery really is what it claims: a verifier that allowed the algorithm would accept it.
    if alg != "none":
        key = _certificate_materials()[material]
        header, payload, signature = forged.split(".")
        digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]
        expected = hmac.new(key, f"{header}.{payload}".encode(), digest).digest()
        assert base64.urlsafe_b64decode(signature + "==") == expected

    status, body = _run(validator, assertion=forged)

    assert status == 400
    assert body["error"] == "invalid_grant"
    assert validator.saved == []
    # Control: the same claims signed RS256 with the app's private key are accepted.
    claims["jti"] = uuid.uuid4().hex
    genuine = jwt.encode(claims, key_pair()[0], algorithm="RS256")
    assert _run(validator, assertion=genuine)[0] == 200


@pytest.mark.parametrize("value", ["", "not-a-jwt", "a.b.c", "\x00" * 10, "é.é.é", "x" * 9000])
def test_garbage_assertions_are_refused(validator, value):
    status, body = _run(validator, assertion=value)

    assert status == 400
    assert body["error"] in {"invalid_grant", "invalid_request"}


def test_missing_assertion_is_an_invalid_request(validator):
    status, body = _run(validator)

    assert (status, body["error"]) == (400, "invalid_request")


def test_app_without_certificate_is_refused():
    validator = FakeValidator(clients={"KEY1": FakeClient(certificate="")})

    status, body = _run(validator, assertion=assertion(iss="KEY1", sub="a@b.c", aud=AUD))

    assert status == 400
    assert body["error_description"] == "invalid assertion"


def test_policy_denial_from_the_validator_is_returned_as_is(validator):
    from tandem.crm.oauth.errors import APP_ACCESS_DENIED

    validator.denial = SalesforceOAuthError(APP_ACCESS_DENIED)

    status, body = _run(validator, assertion=assertion(iss="KEY1", sub="a@b.c", aud=AUD))

    assert status == 400
    assert body == {
        "error": "invalid_app_access",
        "error_description": "user is not admin approved to access this app",
    }
