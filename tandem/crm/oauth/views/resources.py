"""Revoke, introspect, userinfo, the identity URL and discovery."""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import re
from typing import Any
from urllib.parse import unquote_plus

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views.mixins import OAuthLibMixin

from tandem.crm.oauth import identity
from tandem.crm.oauth.crypto import secret_matches, token_checksum
from tandem.crm.oauth.enforcement import refresh_token_live
from tandem.crm.oauth.errors import (
    INVALID_CLIENT_CREDENTIALS,
    INVALID_REQUEST,
    INVALID_TOKEN,
    QUERY_STRING_TOKEN,
    OAuthErrorPair,
)
from tandem.crm.oauth.jwt_bearer import JWT_BEARER
from tandem.crm.oauth.loaders import app_and_access_token
from tandem.crm.oauth.models import AccessToken, RefreshToken
from tandem.crm.oauth.policy import RefreshFacts
from tandem.crm.oauth.services import token_revoke
from tandem.crm.oauth.views.token import NO_STORE, bad_form, oauth_error
from tandem.crm.users.models import User

INACTIVE = {"active": False}
TOKEN_REQUIRED = OAuthErrorPair("unsupported_token_type", "token is required")
INVALID_CALLBACK = OAuthErrorPair("invalid_request", "invalid callback")
# A plain ASCII JavaScript identifier, short: the callback is written into a script, so
# anything else (dots, brackets, markup) is refused rather than escaped.
JSONP_CALLBACK = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]{0,63}")


def _token_param(request: HttpRequest) -> str | None:
    values = request.POST.getlist("token") or request.GET.getlist("token")
    if len(values) != 1 or not values[0] or len(values[0]) > 4096:
        return None
    return values[0]


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("token"), name="dispatch")
class RevokeView(View):
    """POST token=…, GET ?token=… and GET ?token=…&callback=fn (JSONP), as Salesforce: an
    access token revokes itself, a refresh token its whole family (docs/reference/
    oauth-policies.md, Revocation)."""

    http_method_names = ["get", "post"]  # a HEAD (Django's default: GET) must not revoke

    def post(self, request: HttpRequest) -> HttpResponse:
        refused = bad_form(request)
        return refused or _revoke_response(_revoke(_token_param(request)))

    def get(self, request: HttpRequest) -> HttpResponse:
        callbacks = request.GET.getlist("callback")
        if not callbacks:
            return _revoke_response(_revoke(_token_param(request)))
        if len(callbacks) != 1 or not JSONP_CALLBACK.fullmatch(callbacks[0]):
            return oauth_error(INVALID_CALLBACK)
        return _jsonp(callbacks[0], _revoke(_token_param(request)))


def _revoke(token: str | None) -> OAuthErrorPair | None:
    """Revoke the token; None on success, else Salesforce's error pair."""
    if token is None:
        return TOKEN_REQUIRED
    return None if token_revoke(token=token) else INVALID_TOKEN


def _revoke_response(error: OAuthErrorPair | None) -> HttpResponse:
    return oauth_error(error) if error else HttpResponse(status=200)


def _jsonp(callback: str, error: OAuthErrorPair | None) -> HttpResponse:
    """`fn({})` on success, `fn({"error": …})` on failure, always 200: a browser runs a
    script only from a successful response. The `/**/` prefix keeps the body from starting
    with bytes the caller chose (the Rosetta Flash class of attacks)."""
    body = json.dumps(error.as_dict() if error else {})
    response = HttpResponse(
        f"/**/{callback}({body});", content_type="application/javascript; charset=utf-8"
    )
    for name, value in NO_STORE.items():
        response[name] = value
    return response


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters("token", "client_secret"), name="dispatch")
class IntrospectView(View):
    """RFC 7662 for the app's own tokens; the client authenticates with its key and secret
    (HTTP Basic, or client_id and client_secret in the form)."""

    def post(self, request: HttpRequest) -> HttpResponse:
        refused = bad_form(request)
        if refused is not None:
            return refused
        key, secret = _client_credentials(request)
        if not key or not secret or not key.isprintable() or len(key) > 255:
            return oauth_error(INVALID_CLIENT_CREDENTIALS, status=401)
        token = _token_param(request)
        checksum = token_checksum(token or "")
        client, access = app_and_access_token(key, checksum)
        if client is None or not secret_matches(secret, client.client_secret):
            return oauth_error(INVALID_CLIENT_CREDENTIALS, status=401)
        if token is None:
            return oauth_error(INVALID_REQUEST)
        if access is not None and access[2] is not None and timezone.now() < access[2]:
            user, scope, expires, created = access
            if user is not None and not user.may_log_in:
                return JsonResponse(INACTIVE)
            return JsonResponse(_claims(client, user, scope, "access_token", expires, created))
        return JsonResponse(_introspection(client, checksum))


def _client_credentials(request: HttpRequest) -> tuple[str, str]:
    """(key, secret) from HTTP Basic (RFC 6749 §2.3.1, form-encoded) or from the form."""
    kind, _, encoded = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() == "basic" and encoded:
        try:
            decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return "", ""
        key, _, secret = decoded.partition(":")
        return unquote_plus(key), unquote_plus(secret)
    return request.POST.get("client_id", ""), request.POST.get("client_secret", "")


def _introspection(client: Any, checksum: str) -> dict[str, Any]:
    """An access token live for a user who may log in; else a refresh token, active only
    while a refresh with it would pass the app's policies (the user's state, the permitted
    users, the Refresh Token Policy)."""
    row = (
        AccessToken.objects.select_related("user__org")
        .filter(token_checksum=checksum, application=client)
        .first()
    )
    if row is not None and not row.is_expired():
        if row.user is not None and not row.user.may_log_in:
            return INACTIVE
        return _claims(client, row.user, row.scope, "access_token", row.expires, row.created)
    found = (
        RefreshToken.objects.filter(
            token_checksum=checksum, application=client, revoked__isnull=True
        )
        .select_related("user__org")
        .first()
    )
    if found is None or found.user is None:
        return INACTIVE
    facts = RefreshFacts(found.family_created_at, found.updated)
    if not refresh_token_live(app=client, user=found.user, refresh=facts, now=timezone.now()):
        return INACTIVE
    return _claims(client, found.user, "", "refresh_token", None, found.created)


def _claims(
    client: Any, user: User | None, scope: str, kind: str, expires: Any, created: Any
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "active": True,
        "scope": scope,
        "client_id": client.client_id,
        "token_type": kind,
        "iat": calendar.timegm(created.timetuple()),
        "nbf": calendar.timegm(created.timetuple()),
    }
    if expires is not None:
        data["exp"] = calendar.timegm(expires.timetuple())
    if user is not None:
        data.update(username=user.username, sub=identity.identity_url(user))
    return data


class BearerView(OAuthLibMixin, View):
    """A resource answered only for a valid Bearer access token."""

    def bearer_user(self, request: HttpRequest) -> User | HttpResponse:
        """The token's user, or the 401 to answer: an access token in the query string (RFC
        9700 §4.3.2, refused by DOT's COMPLIANT_BCP_RFC9700_ACCESS_TOKEN_TRANSPORT) gets an
        OAuth error pair; no valid token, or another org's token on an org's My Domain host
        (the token decides the org everywhere else), Salesforce's INVALID_SESSION_ID."""
        if "access_token" in request.GET:
            return _query_string_token()
        valid, oauth_request = self.verify_request(request)
        if not valid or oauth_request is None or oauth_request.user is None:
            return _unauthorized()
        user: User = oauth_request.user
        host_org = getattr(request, "crm_org", None)
        if host_org is not None and host_org.pk != user.org_id:
            return _unauthorized()
        return user


def _unauthorized() -> HttpResponse:
    response = JsonResponse(
        [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}],
        status=401,
        safe=False,
    )
    response["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def _query_string_token() -> HttpResponse:
    response = oauth_error(QUERY_STRING_TOKEN, status=401)
    response["WWW-Authenticate"] = (
        f'Bearer error="{QUERY_STRING_TOKEN.error}", '
        f'error_description="{QUERY_STRING_TOKEN.description}"'
    )
    return response


@method_decorator(csrf_exempt, name="dispatch")
class UserInfoView(BearerView):
    """GET/POST /services/oauth2/userinfo: OpenID Connect claims of the token's user."""

    def get(self, request: HttpRequest) -> HttpResponse:
        user = self.bearer_user(request)
        if isinstance(user, HttpResponse):
            return user
        return JsonResponse(identity.oidc_claims(user))

    post = get


class IdentityView(BearerView):
    """GET /id/<orgId>/<userId>: the user's identity document (own, or any in the org for
    an administrator)."""

    def get(self, request: HttpRequest, org_id: str, user_id: str) -> HttpResponse:
        caller = self.bearer_user(request)
        if isinstance(caller, HttpResponse):
            return caller
        if caller.pk != user_id and not (caller.is_org_admin and caller.org_id == org_id):
            return JsonResponse(
                [{"message": "Forbidden", "errorCode": "INSUFFICIENT_ACCESS"}],
                status=403,
                safe=False,
            )
        user = (
            caller  # its own identity: the token's read brought the user and the org
            if caller.pk == user_id and caller.org_id == org_id
            else User.objects.select_related("org").filter(pk=user_id, org_id=org_id).first()
        )
        if user is None:
            return JsonResponse(
                [{"message": "Not found", "errorCode": "NOT_FOUND"}], status=404, safe=False
            )
        origin = f"{request.scheme}://{request.get_host()}"
        return JsonResponse(identity.identity_document(user, origin))


def discovery(request: HttpRequest) -> HttpResponse:
    """GET /.well-known/openid-configuration (and the RFC 8414 variant)."""
    base = identity.issuer()
    oauth = f"{base}/services/oauth2"
    return JsonResponse(
        {
            "issuer": identity.issuer(),
            "authorization_endpoint": f"{oauth}/authorize",
            "token_endpoint": f"{oauth}/token",
            "revocation_endpoint": f"{oauth}/revoke",
            "introspection_endpoint": f"{oauth}/introspect",
            "userinfo_endpoint": f"{oauth}/userinfo",
            "jwks_uri": f"{base}/id/keys",
            "response_types_supported": ["code"],
            "grant_types_supported": [
                "authorization_code",
                "refresh_token",
                "password",
                JWT_BEARER,
            ],
            "code_challenge_methods_supported": ["S256"],
            "scopes_supported": [
                "api",
                "refresh_token",
                "offline_access",
                "full",
                "id",
                "profile",
                "email",
                "web",
                "openid",
            ],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "authorization_response_iss_parameter_supported": True,
            "claims_supported": [
                "sub",
                "user_id",
                "organization_id",
                "preferred_username",
                "name",
                "email",
            ],
        }
    )
