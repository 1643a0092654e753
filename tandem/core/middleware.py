"""HTTP middleware shared by both services."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from tandem.core.net import from_trusted_proxy

FORWARDED_PROTO = "HTTP_X_FORWARDED_PROTO"


class ForwardedProtoMiddleware:
    """Drop X-Forwarded-Proto unless a trusted proxy sent the request, before anything asks
    whether the request is secure: SECURE_PROXY_SSL_HEADER (set only with TRUSTED_PROXIES)
    would otherwise let any client claim https."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if FORWARDED_PROTO in request.META and not from_trusted_proxy(request):
            del request.META[FORWARDED_PROTO]
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Add the Content-Security-Policy header (Django 5.2 has none built in)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = settings.CONTENT_SECURITY_POLICY

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        return response
