"""A lean request path for the machine-to-machine OAuth endpoints (ADR 0405)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any, cast

from django.core.handlers.exception import convert_exception_to_response
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.urls import ResolverMatch, resolve

from tandem.core.middleware import ContentSecurityPolicyMiddleware
from tandem.crm.orgs.middleware import OrgHostMiddleware
from tandem.crm.unavailable import guarded

# Clients authenticate these with their own credentials, never a browser session or cookie:
# sessions, CSRF (the views are exempt), auth, messages and static files have nothing to do.
LEAN_PATHS = frozenset(
    {"/services/oauth2/token", "/services/oauth2/introspect", "/services/oauth2/revoke"}
)
# Outermost first; the response headers of the full stack are kept.
LEAN_MIDDLEWARE = (XFrameOptionsMiddleware, ContentSecurityPolicyMiddleware, OrgHostMiddleware)


class OAuthEndpointMiddleware:
    """Send the token, introspection and revocation endpoints through a short middleware chain
    (the org from the host, the security headers); everything else takes the full stack."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        handler: Callable[[HttpRequest], Any] = convert_exception_to_response(guarded(_view))
        for middleware in reversed(LEAN_MIDDLEWARE):
            handler = convert_exception_to_response(middleware(handler))
        self.lean = handler

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in LEAN_PATHS:
            return cast(HttpResponse, self.lean(request))
        return self.get_response(request)


@lru_cache(maxsize=len(LEAN_PATHS))
def _resolved(path: str) -> ResolverMatch:
    """The URLconf's match for one of LEAN_PATHS, walked once per process."""
    return resolve(path)


def _view(request: HttpRequest) -> HttpResponse:
    """Call the view, as Django's handler would (these views are synchronous)."""
    match = _resolved(request.path_info)
    request.resolver_match = match
    response: HttpResponse = match.func(request, *match.args, **match.kwargs)
    if not response.streaming and not response.has_header("Content-Length"):
        response.headers["Content-Length"] = str(len(response.content))  # as CommonMiddleware
    return response
