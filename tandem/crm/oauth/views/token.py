"""POST /services/oauth2/token: every grant, answered in Salesforce's dialect."""

from __future__ import annotations

from typing import Any

from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.debug import sensitive_post_parameters
from oauth2_provider.views.mixins import OAuthLibMixin

from tandem.crm.oauth.errors import INVALID_REQUEST, OAuthErrorPair, translate_error_body
from tandem.crm.oauth.jwt_bearer import JWT_BEARER

FORM = "application/x-www-form-urlencoded"
MAX_BODY_BYTES = 64 * 1024
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def commit_without_waiting_for_disk() -> None:
    """Tokens and their Login History rows commit without waiting for the WAL flush (PostgreSQL
    `synchronous_commit = off`, this transaction only): a crash may lose the last fraction of a
    second of issued tokens, never consistency; clients then log in again (ADR 0404)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def oauth_error(pair: OAuthErrorPair, status: int = 400) -> JsonResponse:
    """A JSON error pair with the no-store headers of RFC 6749 §5.2."""
    response = JsonResponse(pair.as_dict(), status=status)
    for name, value in NO_STORE.items():
        response[name] = value
    return response


def bad_form(request: HttpRequest) -> JsonResponse | None:
    """Refuse what is not a small form POST before oauthlib sees it."""
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type != FORM:
        return oauth_error(
            OAuthErrorPair("invalid_request", "must use application/x-www-form-urlencoded")
        )
    if int(request.META.get("CONTENT_LENGTH") or 0) > MAX_BODY_BYTES:
        return oauth_error(INVALID_REQUEST)
    try:
        request.POST  # noqa: B018 - parse now so malformed bodies fail here
    except Exception:
        return oauth_error(INVALID_REQUEST)
    if any(
        "\x00" in key or any("\x00" in v for v in values) for key, values in request.POST.lists()
    ):
        return oauth_error(INVALID_REQUEST)
    return None


# Posted values an error report (Django's SafeExceptionReporterFilter) must never show.
TOKEN_SECRETS = (
    "password",
    "client_secret",
    "assertion",
    "code",
    "refresh_token",
    "code_verifier",
)


@method_decorator(csrf_exempt, name="dispatch")
@method_decorator(sensitive_post_parameters(*TOKEN_SECRETS), name="dispatch")
class TokenView(OAuthLibMixin, View):
    """Authorization code, refresh token, JWT bearer, password (and client credentials)."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        refused = bad_form(request)
        if refused is not None:
            return refused
        if request.POST.get("grant_type") == JWT_BEARER:
            # Its writes are single statements (the jti, then the token with its Login History
            # row and usage count, ADR 0406): no transaction to open and commit.
            _url, headers, body, status = self.create_token_response(request)
        else:
            with transaction.atomic():
                commit_without_waiting_for_disk()
                _url, headers, body, status = self.create_token_response(request)
        if status != 200:
            body, status = translate_error_body(body), 400
        response = HttpResponse(body, status=status, content_type="application/json")
        for name, value in {**headers, **NO_STORE}.items():
            if name.lower() != "content-type":
                response[name] = value
        return response

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return oauth_error(OAuthErrorPair("invalid_request", "must use HTTP POST"))
