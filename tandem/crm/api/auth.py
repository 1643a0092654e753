"""Who is calling the API: a bearer access token resolved to org, user, connected app, scopes.

`authenticate_api_request` is the only entry point; `token_principal` resolves a token by the
SHA-256 of its value among the OAuth server's access tokens.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.apps import apps
from django.http import HttpRequest
from django.utils import timezone

from tandem.crm.api.errors import ApiError
from tandem.crm.connectedapps.services import MARKETING_CLOUD_KEY
from tandem.crm.orgs.models import Org
from tandem.crm.users.models import User

API_SCOPES = frozenset({"api", "full"})
QUERY_STRING_TOKEN = "access_token"  # noqa: S105 - a parameter name


@dataclass(frozen=True)
class ApiPrincipal:
    """The caller of one API request."""

    org: Org
    user: User
    connected_app_id: str | None
    connected_app_name: str | None
    scopes: frozenset[str]
    # The deployment's managed "Salesforce Marketing Cloud" app, by connected-app authentication
    # (not the legacy password flow): its REST calls are exempt.
    is_marketing_cloud: bool = False


def invalid_session() -> ApiError:
    return ApiError(401, "INVALID_SESSION_ID", "Session expired or invalid")


def token_principal(token: str) -> ApiPrincipal | None:
    """The principal of a DOT access token, or None when unknown or expired."""
    if not apps.is_installed("oauth2_provider"):
        return None
    from oauth2_provider.models import get_access_token_model

    model = get_access_token_model()
    checksum = hashlib.sha256(token.encode()).hexdigest()
    found = (
        model.objects.select_related("user", "user__org", "application")
        .filter(token_checksum=checksum)
        .first()
    )
    if found is None or found.expires <= timezone.now() or found.user is None:
        return None
    user = found.user
    application = found.application
    return ApiPrincipal(
        org=user.org,
        user=user,
        connected_app_id=str(application.pk) if application else None,
        connected_app_name=application.name if application else None,
        scopes=frozenset((found.scope or "").split()),
        is_marketing_cloud=bool(application)
        and getattr(application, "deployment_key", None) == MARKETING_CLOUD_KEY
        and found.grant_type != "password",
    )


def _bearer(request: HttpRequest) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and token.strip():
        return token.strip()
    return None


def authenticate_api_request(request: HttpRequest) -> ApiPrincipal:
    """The caller, or INVALID_SESSION_ID (401) for a missing, unknown, expired or foreign token,
    and for any request carrying `access_token` in its query string (RFC 9700 §4.3.2: URLs end
    up in logs and Referer headers), even beside a valid header."""
    if QUERY_STRING_TOKEN in request.GET:
        raise ApiError(
            401,
            "INVALID_SESSION_ID",
            "Access tokens are accepted only in the "
            "Authorization header, never in the query string",
        )
    token = _bearer(request)
    principal = token_principal(token) if token else None
    if principal is None or not (principal.scopes & API_SCOPES):
        raise invalid_session()
    if not principal.user.may_log_in:
        raise invalid_session()
    if not principal.user.is_api_enabled:
        raise ApiError(403, "API_DISABLED_FOR_ORG", "API is not enabled for this user")
    host_org = getattr(request, "crm_org", None)
    if host_org is not None and host_org.id != principal.org.id:
        raise invalid_session()
    return principal
