"""DOT's request validator with the Connected App layer: keyed client secrets, per-app PKCE,
grant types and scopes, the policy checks on every grant, the JWT bearer hooks, and the
Salesforce token response."""

from __future__ import annotations

import hashlib
import random
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauthlib.common import Request

from tandem.core.db import insert_statement, write_together
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.services import (
    connected_app_deployment_sync,
    connected_app_policy_ensure,
    connected_app_usage_statement,
)
from tandem.crm.oauth import identity
from tandem.crm.oauth.backend import ORIGIN_HEADER
from tandem.crm.oauth.crypto import (
    decrypt_secret,
    response_signature,
    secret_matches,
    token_checksum,
)
from tandem.crm.oauth.enforcement import (
    PolicyContext,
    login_record,
    login_row,
    policy_check,
)
from tandem.crm.oauth.errors import (
    EXPIRED_CODE,
    EXPIRED_REFRESH_TOKEN,
    INVALID_AUDIENCE,
    INVALID_CODE,
    INVALID_CREDENTIALS,
    INVALID_SCOPE,
    NOT_APPROVED,
    PKCE_DOWNGRADE,
    SalesforceOAuthError,
)
from tandem.crm.oauth.jwt_bearer import JWT_BEARER
from tandem.crm.oauth.loaders import access_token_by_checksum, app_by_client_id, user_for_policy
from tandem.crm.oauth.models import AccessToken, Grant, JwtAssertionUse, RefreshToken
from tandem.crm.oauth.policy import (
    REFRESH_SCOPES,
    PermittedUsers,
    RefreshFacts,
    TokenPath,
    issues_refresh_token,
)
from tandem.crm.oauth.services import (
    grant_claim,
    grant_record_issued,
    grants_clear_expired,
    jti_record,
    refresh_families_cap,
    refresh_token_touch,
    tokens_revoke_issued_by,
)
from tandem.crm.orgs.domains import crm_base_url, my_domain_from_host
from tandem.crm.users.models import LoginStatus, User
from tandem.crm.users.policies import client_ip
from tandem.crm.users.services import user_authenticate_password

GRANT_TYPES = {
    "authorization_code": ConnectedApp.GRANT_AUTHORIZATION_CODE,
    "refresh_token": ConnectedApp.GRANT_AUTHORIZATION_CODE,
    "password": ConnectedApp.GRANT_PASSWORD,
    "client_credentials": ConnectedApp.GRANT_CLIENT_CREDENTIALS,
}
PATHS = {
    "authorization_code": TokenPath.CODE_EXCHANGE,
    "password": TokenPath.PASSWORD,
    JWT_BEARER: TokenPath.JWT_BEARER,
}
MAX_CLIENT_ID_LENGTH = 255
# Salesforce's login URLs, which some clients put in `aud` whatever their login URL is.
SALESFORCE_AUDIENCES = frozenset({"https://login.salesforce.com", "https://test.salesforce.com"})


def request_ip(request: Request) -> str:
    """The client address of an oauthlib request (DOT copies Django's META into headers)."""
    shim = HttpRequest()
    shim.META = dict(request.headers or {})
    return client_ip(shim)


def _stale(app: ConnectedApp) -> bool:
    """The deployment's app differs from its settings (a new certificate or callback)."""
    return bool(app.deployment_key) and (
        app.certificate != (settings.MC_CERTIFICATE or "").strip()
        or app.redirect_uris != (settings.MC_CALLBACK_URL or "")
    )


class ConnectedAppValidator(OAuth2Validator):
    """The request validator DOT's views and our grants call."""

    # Salesforce's ID token carries the org and user ids whatever the scopes: no filtering.
    oidc_claim_scope = None

    # --- clients -------------------------------------------------------------------------

    def _check_secret(self, provided_secret: str, stored_secret: str) -> bool:
        return secret_matches(provided_secret or "", stored_secret or "")

    def _load_application(self, client_id: Any, request: Request) -> ConnectedApp | None:
        if not isinstance(client_id, str) or not client_id.isprintable():
            return None
        if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
            return None
        if not request.client:  # one plain statement; DOT then takes its "already loaded" path
            request.client = app_by_client_id(client_id)
        client = super()._load_application(client_id, request)
        if client_id == settings.MC_CONSUMER_KEY and (client is None or _stale(client)):
            request.client = client = connected_app_deployment_sync()
        return cast("ConnectedApp | None", client)

    def validate_grant_type(
        self, client_id: str, grant_type: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        if grant_type == JWT_BEARER:
            return bool(client.certificate)
        wanted = GRANT_TYPES.get(grant_type)
        return wanted is not None and client.allows_grant_type(wanted)

    def is_pkce_required(self, client_id: str, request: Request) -> bool:
        client = request.client or self._load_application(client_id, request)
        return client is None or bool(client.pkce_required)

    def validate_silent_login(self, request: Request) -> bool:
        """prompt=none: no silent login; the client gets `login_required` (OIDC Core 3.1.2.6)."""
        return False

    def validate_silent_authorization(self, request: Request) -> bool:
        """prompt=none: no silent consent; the client gets `consent_required`."""
        return False

    def get_oidc_issuer_endpoint(self, request: Request) -> str:
        return identity.issuer()

    # --- access tokens at userinfo and the identity URL --------------------------------------

    def _load_access_token(self, token: str) -> AccessToken | None:
        """The Bearer token of the identity URL and userinfo, with its app, user and org, in
        one plain statement (the ORM's compilation cost more than the query)."""
        return cast(
            "AccessToken | None",
            access_token_by_checksum(token_checksum(token)),
        )

    def validate_bearer_token(self, token: str, scopes: list[str], request: Request) -> bool:
        """DOT's checks, then the token's user: a user deactivated or frozen, or in an org no
        longer active, holds no live token (as the REST API and browser sessions refuse)."""
        if not super().validate_bearer_token(token, scopes, request):
            return False
        user: User | None = request.user
        if user is not None and not user.may_log_in:
            request.user = None
            request.oauth2_error = {"error": "invalid_token", "error_description": "invalid token"}
            return False
        return True

    # --- authorization codes ---------------------------------------------------------------

    def validate_code(
        self, client_id: str, code: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        grant = Grant.objects.select_related("user").filter(code=code, application=client).first()
        if grant is None:
            return False
        if grant.used_at is not None:
            tokens_revoke_issued_by(grant)  # RFC 6749 §4.1.2: a code used twice was stolen
            raise SalesforceOAuthError(INVALID_CODE, request=request)
        if grant.is_expired():
            raise SalesforceOAuthError(EXPIRED_CODE, request=request)
        if not grant_claim(grant):  # another exchange of this code won the race
            raise SalesforceOAuthError(INVALID_CODE, request=request)
        request.grant_instance = grant
        request.scopes = grant.scope.split()
        request.user = grant.user
        request.grant_code_challenge = grant.code_challenge or None
        if grant.nonce:
            request.nonce = grant.nonce
        return True

    def invalidate_authorization_code(
        self, client_id: str, code: str, request: Request, *args: Any, **kwargs: Any
    ) -> None:
        """Nothing to do: `validate_code` claimed the code, which stays, marked used, so a
        second use is recognised; codes long expired are cleared now and then."""
        if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
            grants_clear_expired()

    def _record_code_exchange(self, request: Request) -> None:
        """What the code's first exchange issued, for revocation should the code come back."""
        grant = getattr(request, "grant_instance", None)
        if grant is not None:
            grant_record_issued(
                grant,
                access_token=getattr(request, "access_token_instance", None),
                token_family=getattr(request, "refresh_token_family", None),
            )

    def refuse_pkce_downgrade(self, request: Request) -> None:
        """RFC 9700 §4.8.2: a code_verifier for a code issued without a challenge is refused."""
        challenge = getattr(request, "grant_code_challenge", None)
        if request.code_verifier is not None and challenge is None:
            raise SalesforceOAuthError(PKCE_DOWNGRADE, request=request)

    # --- refresh tokens --------------------------------------------------------------------

    def rotate_refresh_token(self, request: Request) -> bool:
        """The app's "Enable Refresh Token Rotation" (off by default, as in Salesforce)."""
        return bool(getattr(request.client, "refresh_token_rotation_enabled", False))

    def _unrotated_family(self, request: Request, token: dict[str, Any]) -> Any:
        """The family of the refresh token this refresh used without rotating, else None."""
        if request.grant_type != "refresh_token" or token.get("refresh_token"):
            return None
        return request.refresh_token_instance.token_family

    def validate_refresh_token(
        self, refresh_token: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        if not isinstance(refresh_token, str) or not super().validate_refresh_token(
            refresh_token, client, request, *args, **kw
        ):
            raise SalesforceOAuthError(EXPIRED_REFRESH_TOKEN, request=request)
        return True

    def _create_refresh_token(
        self, request: Request, refresh_token_code: str, access_token: Any, previous: Any
    ) -> RefreshToken:
        token = super()._create_refresh_token(request, refresh_token_code, access_token, previous)
        request.refresh_token_family = token.token_family
        if previous is not None:
            token.family_created_at = previous.family_created_at
            token.save(update_fields=["family_created_at"])
        else:  # a new approval
            keep = settings.OAUTH_APPROVALS_PER_USER_AND_APP
            refresh_families_cap(app_id=token.application_id, user_id=token.user_id, keep=keep)
        return cast(RefreshToken, token)

    # --- password flow (legacy; only where the org allows it) ----------------------------

    def validate_user(
        self, username: str, password: str, client: Any, request: Request, *args: Any, **kw: Any
    ) -> bool:
        """The CRM's own password login (lockout, per-address throttle, security token outside
        trusted ranges); login hours and IP ranges are left to the Connected App policies."""
        if not isinstance(username, str) or not isinstance(password, str):
            raise SalesforceOAuthError(INVALID_CREDENTIALS, request=request)
        ip, now = request_ip(request), timezone.now()
        user = user_for_policy(username.strip().lower(), app_id=client.pk)
        if user is not None and not user.org.allow_username_password_flows:
            status = LoginStatus.PASSWORD_FLOW_DISABLED
            login_record(app=client, user=user, ip=ip, status=status, at=now)
            raise SalesforceOAuthError(INVALID_CREDENTIALS, request=request)
        result = user_authenticate_password(
            username=username,
            password=password,
            ip=ip,
            api=True,
            now=now,
            profile_policies=False,
            record=False,
        )
        if user is None or not result.ok:
            if user is not None:
                login_record(app=client, user=user, ip=ip, status=result.status, at=now)
            raise SalesforceOAuthError(INVALID_CREDENTIALS, request=request)
        request.user = user
        return True

    # --- the Connected App policies --------------------------------------------------------

    def enforcer(self, path: TokenPath) -> Callable[[Request], None]:
        """A post-token validator running every policy check for `path`."""

        def enforce(request: Request) -> None:
            self.enforce(request, path)

        return enforce

    def enforce(self, request: Request, path: TokenPath) -> None:
        """Refuse with the exact Salesforce pair (and a Login History row), or note the policy."""
        user, app = request.user, request.client
        if user is None:
            return  # client credentials: no user to hold to a policy
        refresh = None
        if path is TokenPath.REFRESH:
            token = request.refresh_token_instance
            refresh = RefreshFacts(token.family_created_at, token.updated)
        context, denial = policy_check(
            app=app,
            user=user,
            path=path,
            ip=request_ip(request),
            now=timezone.now(),
            refresh=refresh,
        )
        if denial is not None:
            # Nothing is revoked: a refused refresh never ends the live session (the Refresh
            # Token Policy is checked only when a refresh token is presented,
            # docs/reference/oauth-policies.md).
            raise SalesforceOAuthError(denial.pair, request=request)
        request.connected_app_context = context

    def refresh_token_modifier(self, path: TokenPath) -> Callable[..., dict[str, Any]]:
        """Drop the refresh token unless the scopes ask for one and the policy allows it."""

        def modify(token: dict[str, Any], token_handler: Any, request: Request) -> dict[str, Any]:
            context: PolicyContext | None = getattr(request, "connected_app_context", None)
            if context is None or not issues_refresh_token(path, context.policy, request.scopes):
                token.pop("refresh_token", None)
            if path is TokenPath.REFRESH and not self.rotate_refresh_token(request):
                # No new refresh token (Salesforce); DOT then mints only an access token and
                # leaves the refresh token, and the access tokens issued before, as they are.
                token.pop("refresh_token", None)
            return token

        return modify

    def access_token_lifetime(self, request: Request) -> int:
        """The app's session timeout in the user's org, else the deployment's default."""
        context: PolicyContext | None = getattr(request, "connected_app_context", None)
        if context and context.row and context.row.session_timeout_minutes:
            return int(context.row.session_timeout_minutes) * 60
        configured: Any = settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]
        return int(configured)

    # --- JWT bearer hooks -------------------------------------------------------------------

    def jwt_load_client(self, client_id: str, request: Request) -> ConnectedApp | None:
        return self._load_application(client_id, request)

    def jwt_certificate(self, client: ConnectedApp) -> str:
        return client.certificate

    def jwt_audience_allowed(self, audience: str, request: Request) -> bool:
        """The CRM's login URL (or, when the setting allows, Salesforce's own login URLs), or a
        My Domain URL (checked against the user's org later)."""
        if audience == crm_base_url():
            return True
        if settings.OAUTH_SALESFORCE_AUDIENCES and audience in SALESFORCE_AUDIENCES:
            return True
        parts, base = urlsplit(audience), urlsplit(crm_base_url())
        return parts.scheme == base.scheme and my_domain_from_host(parts.netloc) is not None

    def jwt_load_user(
        self, username: str, client: ConnectedApp, audience: str, request: Request
    ) -> User:
        user = user_for_policy(username.strip().lower(), app_id=client.pk)
        if user is None:
            raise SalesforceOAuthError(NOT_APPROVED, request=request)
        slug = my_domain_from_host(urlsplit(audience).netloc)
        if slug is not None and slug != user.org.my_domain:
            raise SalesforceOAuthError(INVALID_AUDIENCE, request=request)
        if slug is None and client.deployment_key:
            # The deployment's Marketing Cloud app serves every org with one key: its assertion
            # must name the user's org by its My Domain, never the generic login URL (ADR 0401).
            raise SalesforceOAuthError(INVALID_AUDIENCE, request=request)
        return user

    def jwt_refusal_record(
        self, client: ConnectedApp, username: str, status: str, request: Request
    ) -> None:
        """A refused assertion naming an existing user: a row in that user's Login History."""
        user = user_for_policy(username.strip().lower())
        if user is not None:
            login_record(
                app=client, user=user, ip=request_ip(request), status=status, at=timezone.now()
            )

    def jwt_claim_replayed(self, client: ConnectedApp, key: str, expires_at: int) -> bool:
        """Record the assertion's replay key (its jti, else the assertion itself; only its
        SHA-256 is stored) until it expires; True if it was seen before."""
        now = timezone.now()
        if random.random() < 0.01:  # noqa: S311 - housekeeping, not security
            JwtAssertionUse.objects.filter(expires_at__lt=now).delete()
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        expires = datetime.fromtimestamp(expires_at, tz=UTC) + timedelta(seconds=10)
        return not jti_record(app_id=client.pk, jti_hash=digest, expires_at=expires)

    def jwt_authorize(self, request: Request) -> None:
        """The policies for the assertion's user; the token carries the approved scopes."""
        self.enforce(request, TokenPath.JWT_BEARER)
        context: PolicyContext = request.connected_app_context
        if context.policy.permitted_users is PermittedUsers.ADMIN_APPROVED:
            approved = request.client.scope_list  # pre-authorized: the app's selected scopes
        else:
            approved = identity.approved_scopes(app=request.client, user=request.user)
        scopes = [s for s in approved if s not in REFRESH_SCOPES]
        if not scopes:  # Salesforce mints a token only for a standard scope besides refresh
            raise SalesforceOAuthError(INVALID_SCOPE, request=request)
        request.scopes = scopes

    # --- the token response ------------------------------------------------------------------

    def save_bearer_token(
        self, token: dict[str, Any], request: Request, *args: Any, **kw: Any
    ) -> None:
        # The token view already runs the request in one transaction: no savepoint round trips.
        with transaction.atomic(savepoint=False):
            family = self._unrotated_family(request, token)
            self._save_bearer_token(token, request, *args, **kw)
            self._record_code_exchange(request)
            if family is not None:  # its last use, for "Expire refresh token if not used for"
                refresh_token_touch(token=request.refresh_token_instance, at=timezone.now())
        issued_at = str(int(time.time() * 1000))
        token.pop("expires_in", None)
        user, app = request.user, request.client
        context: PolicyContext | None = getattr(request, "connected_app_context", None)
        token["issued_at"] = issued_at
        if user is None:
            token["instance_url"] = crm_base_url()
            return
        origin = (request.headers or {}).get(ORIGIN_HEADER)
        # Connect (the deployment's Marketing Cloud app) reaches *.localhost itself and names
        # the org by its My Domain (authorize URL, assertion audience), as Salesforce's does.
        mode = identity.INSTANCE_URL_MY_DOMAIN if app.deployment_key else None
        token["instance_url"] = identity.instance_url(user.org, origin, mode)
        token["id"] = identity.identity_url(user)
        secret = (
            decrypt_secret(app.consumer_secret_encrypted) if app.consumer_secret_encrypted else None
        )
        if secret:
            token["signature"] = response_signature(secret, token["id"], issued_at)
        self._write_grant(request, context)

    def _write_grant(self, request: Request, context: PolicyContext | None) -> None:
        """The deferred access token, the Login History row and the usage count, in one round
        trip without waiting for the disk (ADR 0405). Every token of one (app,
        user) counts on one row, so its lock lasts one statement, not a round trip."""
        user, app, now = request.user, request.client, timezone.now()
        writes = []
        unsaved = getattr(request, "unsaved_access_token", None)
        if unsaved is not None:
            writes.append(insert_statement(unsaved))
        if PATHS.get(request.grant_type, TokenPath.REFRESH) is not TokenPath.REFRESH:
            row = login_row(
                app=app, user=user, ip=request_ip(request), status=LoginStatus.SUCCESS, at=now
            )
            writes.append(insert_statement(row))
        if not (context and context.row):
            connected_app_policy_ensure(app=app, org=user.org)  # first use lists the app
        writes.append(connected_app_usage_statement(app=app, user=user, at=now))
        write_together(writes, wait_for_disk=False)

    def _create_access_token(
        self,
        expires: Any,
        request: Request,
        token: dict[str, Any],
        source_refresh_token: Any = None,
    ) -> AccessToken:
        """DOT's access token, left for `_write_grant` when nothing else refers to it (no
        refresh or ID token, a user): it is then written with the grant's other rows."""
        family = self._unrotated_family(request, token)
        if family is not None:  # a refresh without rotation: tied to the refresh token's family
            access_token = self._access_token(expires, request, token)
            access_token.refresh_token_family = family
            access_token.save(force_insert=True)
            return access_token
        deferrable = request.grant_type in (JWT_BEARER, "password") and request.user is not None
        if token.get("refresh_token") or token.get("id_token") or not deferrable:
            created = super()._create_access_token(expires, request, token, source_refresh_token)
            if request.grant_type == "password":  # the only grant whose calls the flag changes
                AccessToken.objects.filter(pk=created.pk).update(grant_type="password")
            request.access_token_instance = created
            return cast(AccessToken, created)
        access_token = self._access_token(expires, request, token)
        request.unsaved_access_token = access_token
        return access_token

    def _access_token(self, expires: Any, request: Request, token: dict[str, Any]) -> AccessToken:
        """An unsaved access token, as DOT builds it (without a source refresh token)."""
        id_token = self._load_id_token(token["id_token"]) if token.get("id_token") else None
        access_token = AccessToken(
            user=request.user,
            scope=token["scope"],
            expires=expires,
            id_token=id_token,
            application=request.client,
            resource=getattr(request, "resource", []),
            grant_type=request.grant_type or "",
        )
        self._set_token_value(access_token, token["access_token"])
        return access_token

    def get_additional_claims(self, request: Request) -> dict[str, Any]:
        return identity.oidc_claims(request.user)
