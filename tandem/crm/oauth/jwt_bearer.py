"""The RFC 7523 JWT bearer grant, as Salesforce runs it, on oauthlib's GrantTypeBase.

The grant owns the protocol (parameters, assertion, claims); the request validator owns the
data (the app and its certificate, the user, replay, the Connected App policies).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import time
from functools import lru_cache
from typing import Any, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from jwt.algorithms import RSAAlgorithm
from oauthlib.common import Request
from oauthlib.oauth2.rfc6749.grant_types.base import GrantTypeBase
from oauthlib.openid.connect.core.grant_types.base import GrantTypeBase as OpenIDGrantTypeBase

from tandem.crm.oauth.errors import (
    INVALID_ASSERTION,
    INVALID_AUDIENCE,
    INVALID_CLIENT_ID,
    INVALID_REQUEST,
    UNSUPPORTED_GRANT_TYPE,
    OAuthErrorPair,
    SalesforceOAuthError,
)

log = logging.getLogger(__name__)

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
MAX_ASSERTION_BYTES = 8192
# Salesforce: exp "within 3 minutes"; a few seconds of skew for clocks that disagree.
MAX_LIFETIME_SECONDS = 180
CLOCK_SKEW_SECONDS = 5
# An `exp` above this is in milliseconds (the sf CLI signs `Date.now() + 300`): 10^11 seconds
# is the year 5138, 10^11 milliseconds 1973.
MILLISECONDS_ABOVE = 10**11
_NUMERIC = re.compile(r"[0-9]{1,16}(\.[0-9]{1,6})?")
# Login History statuses of assertions refused before the policies are checked.
STATUS_INVALID_ASSERTION = "Failed: Invalid assertion"
STATUS_INVALID_AUDIENCE = "Failed: Audience validation failed"
STATUS_REPLAYED = "Failed: Assertion replayed"
STATUS_EXPIRED = "Failed: Assertion expired"


class JwtBearerValidator(Protocol):
    """What the grant needs from the request validator."""

    def jwt_load_client(self, client_id: str, request: Request) -> Any | None: ...
    def jwt_certificate(self, client: Any) -> str: ...
    def jwt_audience_allowed(self, audience: str, request: Request) -> bool: ...
    def jwt_load_user(self, username: str, client: Any, audience: str, request: Request) -> Any: ...
    def jwt_claim_replayed(self, client: Any, key: str, expires_at: int) -> bool: ...
    def jwt_authorize(self, request: Request) -> None: ...
    def jwt_refusal_record(
        self, client: Any, username: str, status: str, request: Request
    ) -> None: ...
    def save_token(self, token: dict[str, Any], request: Request) -> None: ...


@lru_cache(maxsize=256)
def public_key_from_pem(pem: str) -> RSAPublicKey | None:
    """The RSA public key of a PEM certificate (or bare public key); parsed once per PEM."""
    data = pem.strip().encode("ascii", "ignore")
    try:
        if b"CERTIFICATE" in data:
            key: object = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except ValueError:
        return None
    return key if isinstance(key, RSAPublicKey) else None


_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")
RS256 = RSAAlgorithm(RSAAlgorithm.SHA256)


def _b64url(segment: str) -> bytes:
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def exp_seconds(value: object) -> float | None:
    """`exp` as Unix seconds: a number or a numeric string (simple-salesforce), in seconds or,
    when absurdly large, milliseconds (the sf CLI); None for anything else."""
    if isinstance(value, str) and _NUMERIC.fullmatch(value):
        value = float(value)
    if not _is_number(value):
        return None
    seconds = float(value)  # type: ignore[arg-type]
    if seconds != seconds or seconds in (float("inf"), float("-inf")):
        return None
    return seconds / 1000 if seconds > MILLISECONDS_ABOVE else seconds


def _times_problem(claims: dict[str, Any], now: float) -> str | None:
    """None when iss, aud and exp are present, exp is not past and at most 3 minutes ahead, and
    nbf and iat, when present, are numbers not in the future (CLOCK_SKEW_SECONDS either way);
    otherwise the Login History status of the refusal."""
    if any(name not in claims for name in ("iss", "aud", "exp")):
        return STATUS_INVALID_ASSERTION
    exp = exp_seconds(claims["exp"])
    if exp is None or exp - now > MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS:
        return STATUS_INVALID_ASSERTION
    if exp + CLOCK_SKEW_SECONDS <= now:
        return STATUS_EXPIRED
    for name in ("nbf", "iat"):
        value = claims.get(name)
        if value is not None and (not _is_number(value) or value - CLOCK_SKEW_SECONDS > now):
            return STATUS_INVALID_ASSERTION
    return None


_STATUS_BY_PAIR = {
    INVALID_ASSERTION: STATUS_INVALID_ASSERTION,
    INVALID_AUDIENCE: STATUS_INVALID_AUDIENCE,
}


def _fail(
    pair: OAuthErrorPair, request: Request, status: str = STATUS_INVALID_ASSERTION
) -> SalesforceOAuthError:
    """The refusal, with the Login History status it is recorded under."""
    error = SalesforceOAuthError(pair, request=request)
    error.login_status = status
    return error


def replay_key(assertion: str, claims: dict[str, Any]) -> str:
    """What makes an assertion single-use: its `jti`, or, as RFC 7523 makes `jti` optional
    (Salesforce's clients send none), the whole signed assertion, so that one without a
    `jti` is accepted once too. The prefixes keep the two kinds apart."""
    jti = claims.get("jti")
    if jti is None or jti == "":
        return "assertion:" + assertion
    return "jti:" + (jti if isinstance(jti, str) else json.dumps(jti, sort_keys=True))


class _IdTokens(OpenIDGrantTypeBase):
    """oauthlib's OpenID Connect ID token minting, for a grant that is not an OIDC flow."""

    def __init__(self, request_validator: Any) -> None:
        self.request_validator = request_validator
        self.proxy_target = None  # nothing to proxy: only add_id_token is used


class JWTBearerGrant(GrantTypeBase):
    """grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer with an RS256 assertion."""

    refresh_token = False

    def create_token_response(
        self, request: Request, token_handler: Any
    ) -> tuple[dict[str, str], str, int]:
        """Validate the assertion and the policies, then issue an access token (never a refresh)."""
        headers = self._get_default_headers()
        try:
            self.validate_token_request(request)
        except SalesforceOAuthError as error:
            headers.update(error.headers)
            return headers, error.json, error.status_code
        token = token_handler.create_token(request, refresh_token=False)
        for modifier in self._token_modifiers:
            token = modifier(token, token_handler, request)
        # An ID token when the approval includes `openid` (docs/reference/oauth-policies.md),
        # minted and signed as the code flow's is.
        token = _IdTokens(self.request_validator).add_id_token(token, token_handler, request)
        self.request_validator.save_token(token, request)
        return headers, json.dumps(token), 200

    def validate_token_request(self, request: Request) -> None:
        """RFC 7523 §3 and Salesforce's rules, then the Connected App policies. Every refusal
        once the app is known is recorded in the named user's Login History (the policies
        record their own)."""
        validator: JwtBearerValidator = self.request_validator
        assertion = self._single_assertion(request)
        header, unverified = self._unverified_parts(assertion, request)
        client = validator.jwt_load_client(str(unverified.get("iss", "")), request)
        if client is None:
            raise _fail(INVALID_CLIENT_ID, request)
        request.client = client
        request.client_id = client.client_id
        username = unverified.get("prn") or unverified.get("sub")  # prn wins (KB 000204593)
        try:
            self._validate_assertion(assertion, header, unverified, client, request)
        except SalesforceOAuthError as error:
            status = getattr(error, "login_status", None) or _STATUS_BY_PAIR.get(error.pair)
            if status and isinstance(username, str) and username:
                validator.jwt_refusal_record(client, username, status, request)
            raise
        validator.jwt_authorize(request)

    def _validate_assertion(
        self,
        assertion: str,
        header: dict[str, Any],
        unverified: dict[str, Any],
        client: Any,
        request: Request,
    ) -> None:
        """The signature, times, audience, replay and user of the assertion of `client`."""
        validator: JwtBearerValidator = self.request_validator
        if header.get("alg") != "RS256":
            raise _fail(INVALID_ASSERTION, request)
        claims = self._verified_claims(
            assertion, unverified, validator.jwt_certificate(client), request
        )
        audience = self._audience(claims, validator, request)
        username = claims.get("prn") or claims.get("sub")
        if not isinstance(username, str) or not username:
            raise _fail(INVALID_ASSERTION, request)
        request.user = validator.jwt_load_user(username, client, audience, request)
        # Last, so that an assertion refused for any other reason leaves no trace but its
        # Login History row.
        expires_at = int(exp_seconds(claims["exp"]) or 0)
        if validator.jwt_claim_replayed(client, replay_key(assertion, claims), expires_at):
            raise _fail(INVALID_ASSERTION, request, STATUS_REPLAYED)

    def _single_assertion(self, request: Request) -> str:
        if request.grant_type != JWT_BEARER:
            raise _fail(UNSUPPORTED_GRANT_TYPE, request)
        for param in ("grant_type", "assertion"):
            if param in (request.duplicate_params or []):
                raise _fail(INVALID_REQUEST, request)
        assertion = getattr(request, "assertion", None)
        if not isinstance(assertion, str) or not assertion:
            raise _fail(INVALID_REQUEST, request)
        if len(assertion) > MAX_ASSERTION_BYTES or not assertion.isascii():
            raise _fail(INVALID_ASSERTION, request)
        return assertion

    def _unverified_parts(
        self, assertion: str, request: Request
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Header and claims, read once without verification only to find the app (`iss`);
        PyJWT verifies everything afterwards. Plain base64 + json: PyJWT's per-character
        segment check cost more than the RSA verification (bench/RESULTS.md)."""
        parts = assertion.split(".")
        # An empty signature (alg "none") is read too, to be refused once the app is known.
        if len(parts) != 3 or not all(_SEGMENT.fullmatch(part) for part in parts[:2]):
            raise _fail(INVALID_ASSERTION, request)
        if parts[2] and not _SEGMENT.fullmatch(parts[2]):
            raise _fail(INVALID_ASSERTION, request)
        try:
            header, claims = (json.loads(_b64url(part)) for part in parts[:2])
        except (ValueError, RecursionError, binascii.Error):
            raise _fail(INVALID_ASSERTION, request) from None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _fail(INVALID_ASSERTION, request)
        return header, claims

    def _verified_claims(
        self, assertion: str, claims: dict[str, Any], pem: str, request: Request
    ) -> dict[str, Any]:
        """The claims read above, once PyJWT's RS256 verifies the signature over exactly those
        segments, and their times checked as PyJWT's decode would (decode parses again)."""
        key = public_key_from_pem(pem) if pem else None
        if key is None:
            raise _fail(INVALID_ASSERTION, request)
        signing_input, _, signature = assertion.rpartition(".")
        try:
            verified = RS256.verify(signing_input.encode("ascii"), key, _b64url(signature))
        except (ValueError, binascii.Error):
            verified = False
        if not verified:
            raise _fail(INVALID_ASSERTION, request)
        problem = _times_problem(claims, time.time())
        if problem is not None:
            raise _fail(INVALID_ASSERTION, request, problem)
        return claims

    def _audience(
        self, claims: dict[str, Any], validator: JwtBearerValidator, request: Request
    ) -> str:
        aud = claims.get("aud")
        candidates = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        for candidate in candidates:
            if isinstance(candidate, str) and validator.jwt_audience_allowed(
                candidate.rstrip("/"), request
            ):
                return candidate.rstrip("/")
        raise _fail(INVALID_AUDIENCE, request, STATUS_INVALID_AUDIENCE)
