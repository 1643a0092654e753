"""The oauthlib server: DOT's OpenID Connect server plus the JWT bearer grant, minus the
implicit, hybrid and device flows, with the Connected App checks on every grant."""

from __future__ import annotations

from typing import Any

from oauthlib.openid import Server

from tandem.crm.oauth.errors import CODE_VERIFIER_MISMATCH, SalesforceOAuthError
from tandem.crm.oauth.jwt_bearer import JWT_BEARER, JWTBearerGrant
from tandem.crm.oauth.policy import TokenPath

ALLOWED_RESPONSE_TYPES = ("code",)
REMOVED_GRANT_TYPES = ("urn:ietf:params:oauth:grant-type:device_code",)


class TandemServer(Server):
    """Authorization code (+PKCE, +OIDC), refresh, password, client credentials, JWT bearer."""

    def __init__(self, request_validator: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("token_expires_in", request_validator.access_token_lifetime)
        super().__init__(request_validator, *args, **kwargs)
        handlers: dict[str, Any] = dict(vars(self)["_response_types"])
        self._response_types = {
            name: handler for name, handler in handlers.items() if name in ALLOWED_RESPONSE_TYPES
        }
        for name in REMOVED_GRANT_TYPES:
            self._grant_types.pop(name, None)
        self.jwt_bearer_grant = JWTBearerGrant(request_validator)
        self._grant_types[JWT_BEARER] = self.jwt_bearer_grant
        self._wire(request_validator)

    def _wire(self, validator: Any) -> None:
        code_grants = (self.auth_grant, self.openid_connect_auth)
        for grant in code_grants:
            target: Any = getattr(
                grant, "proxy_target", grant
            )  # the OIDC grant wraps the OAuth one
            target.validate_code_challenge = _strict_challenge(target.validate_code_challenge)
            grant.custom_validators.post_token.append(validator.refuse_pkce_downgrade)
            grant.custom_validators.post_token.append(validator.enforcer(TokenPath.CODE_EXCHANGE))
            grant.register_token_modifier(validator.refresh_token_modifier(TokenPath.CODE_EXCHANGE))
        self.refresh_grant.custom_validators.post_token.append(
            validator.enforcer(TokenPath.REFRESH)
        )
        self.refresh_grant.register_token_modifier(
            validator.refresh_token_modifier(TokenPath.REFRESH)
        )
        self.password_grant.custom_validators.post_token.append(
            validator.enforcer(TokenPath.PASSWORD)
        )
        self.password_grant.refresh_token = False


def _strict_challenge(check: Any) -> Any:
    """A non-matching code_verifier is `invalid_request` in Salesforce's dialect."""

    def validate(challenge: str, challenge_method: str, verifier: str) -> bool:
        if not check(challenge, challenge_method, verifier):
            raise SalesforceOAuthError(CODE_VERIFIER_MISMATCH)
        return True

    return validate
