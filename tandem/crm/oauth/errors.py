"""The Salesforce OAuth error catalogue (docs/reference/oauth-errors.md) and how oauthlib's
errors map onto it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from oauthlib.oauth2.rfc6749.errors import OAuth2Error


@dataclass(frozen=True)
class OAuthErrorPair:
    """An `error` and its `error_description`, exactly as Salesforce spells them."""

    error: str
    description: str

    def as_dict(self) -> dict[str, str]:
        return {"error": self.error, "error_description": self.description}


INVALID_CLIENT_ID = OAuthErrorPair("invalid_client_id", "client identifier invalid")
INVALID_CLIENT_CREDENTIALS = OAuthErrorPair("invalid_client", "invalid client credentials")
REDIRECT_URI_MISSING = OAuthErrorPair("redirect_uri_missing", "redirect_uri not provided")
REDIRECT_URI_MISMATCH = OAuthErrorPair(
    "redirect_uri_mismatch", "redirect_uri must match configuration"
)
UNSUPPORTED_RESPONSE_TYPE = OAuthErrorPair(
    "unsupported_response_type", "response type not supported"
)
UNSUPPORTED_GRANT_TYPE = OAuthErrorPair("unsupported_grant_type", "grant type not supported")
INVALID_SCOPE = OAuthErrorPair("invalid_scope", "the requested scope is not allowed")
INVALID_REQUEST = OAuthErrorPair("invalid_request", "invalid request")
ACCESS_DENIED = OAuthErrorPair("access_denied", "end-user denied authorization")
INVALID_CODE = OAuthErrorPair("invalid_grant", "invalid authorization code")
EXPIRED_CODE = OAuthErrorPair("invalid_grant", "expired authorization code")
CODE_VERIFIER_MISMATCH = OAuthErrorPair("invalid_request", "invalid code verifier")
CODE_VERIFIER_MISSING = OAuthErrorPair("invalid_grant", "code verifier required")
INVALID_RESOURCE = OAuthErrorPair("invalid_request", "invalid resource")
PKCE_S256_ONLY = OAuthErrorPair("invalid_request", "code_challenge_method must be S256")
INVALID_CODE_CHALLENGE = OAuthErrorPair("invalid_request", "invalid code_challenge")
INVALID_NONCE = OAuthErrorPair("invalid_request", "invalid nonce")
INVALID_PARAMETER = OAuthErrorPair("invalid_request", "invalid parameter")
PKCE_DOWNGRADE = OAuthErrorPair("invalid_grant", "code verifier sent without a code challenge")
INVALID_CREDENTIALS = OAuthErrorPair("invalid_grant", "authentication failure")
INVALID_ASSERTION = OAuthErrorPair("invalid_grant", "invalid assertion")
INVALID_AUDIENCE = OAuthErrorPair("invalid_grant", "audience validation failed")
NOT_APPROVED = OAuthErrorPair("invalid_grant", "user hasn't approved this consumer")
APP_ACCESS_DENIED = OAuthErrorPair(
    "invalid_app_access", "user is not admin approved to access this app"
)
IP_OR_HOURS = OAuthErrorPair("invalid_grant", "IP restricted or invalid login hours")
EXPIRED_REFRESH_TOKEN = OAuthErrorPair("invalid_grant", "expired access/refresh token")
INACTIVE_USER = OAuthErrorPair("inactive_user", "user is inactive")
INACTIVE_ORG = OAuthErrorPair("inactive_org", "org is locked, closed or suspended")
UNSUPPORTED_TOKEN_TYPE = OAuthErrorPair(
    "unsupported_token_type", "this token type is not supported"
)
INVALID_TOKEN = OAuthErrorPair("invalid_token", "invalid token")
QUERY_STRING_TOKEN = OAuthErrorPair(
    "invalid_token", "access tokens are not accepted in the query string"
)


class SalesforceOAuthError(OAuth2Error):
    """An oauthlib error carrying one pair of the catalogue (always HTTP 400)."""

    status_code = 400

    def __init__(self, pair: OAuthErrorPair, **kwargs: Any) -> None:
        self.error = pair.error
        self.pair = pair
        super().__init__(description=pair.description, **kwargs)


# oauthlib's own errors, translated by `error` name (and description where one name has several).
_BY_ERROR: dict[str, OAuthErrorPair] = {
    "invalid_client": INVALID_CLIENT_CREDENTIALS,
    "unauthorized_client": UNSUPPORTED_GRANT_TYPE,
    "unsupported_grant_type": UNSUPPORTED_GRANT_TYPE,
    "invalid_scope": INVALID_SCOPE,
    "unsupported_response_type": UNSUPPORTED_RESPONSE_TYPE,
    "access_denied": ACCESS_DENIED,
    "invalid_grant": INVALID_CODE,
    "invalid_target": INVALID_REQUEST,
    "mismatching_redirect_uri": REDIRECT_URI_MISMATCH,
    "invalid_redirect_uri": REDIRECT_URI_MISMATCH,
    "missing_redirect_uri": REDIRECT_URI_MISSING,
    "invalid_client_id": INVALID_CLIENT_ID,
    "missing_client_id": INVALID_CLIENT_ID,
}


def salesforce_pair(error: str, description: str | None) -> OAuthErrorPair:
    """Translate an oauthlib error into the catalogue; our own pairs pass through unchanged."""
    if (error, description) in _OUR_PAIRS:
        return OAuthErrorPair(error, description or "")
    if error == "invalid_request" and description and "verifier" in description.lower():
        return CODE_VERIFIER_MISSING
    lowered = (description or "").lower()
    if error == "invalid_request" and "client_id" in lowered:
        return INVALID_CLIENT_ID
    if error == "invalid_request" and "missing redirect" in lowered:
        return REDIRECT_URI_MISSING
    if error == "invalid_request" and "redirect" in lowered:
        return REDIRECT_URI_MISMATCH
    if error == "invalid_request":
        return OAuthErrorPair("invalid_request", description or INVALID_REQUEST.description)
    return _BY_ERROR.get(error) or OAuthErrorPair(error, description or error)


_OUR_PAIRS = {
    (pair.error, pair.description)
    for pair in list(globals().values())
    if isinstance(pair, OAuthErrorPair)
}


def translate_error_body(body: str) -> str:
    """Rewrite a JSON error body from oauthlib into the Salesforce pair (other keys dropped)."""
    try:
        data = json.loads(body)
    except ValueError:
        return json.dumps(INVALID_REQUEST.as_dict())
    if not isinstance(data, dict) or "error" not in data:
        return body
    pair = salesforce_pair(str(data["error"]), data.get("error_description"))
    return json.dumps(pair.as_dict())
