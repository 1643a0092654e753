"""DOT's bridge between Django requests and oauthlib, keeping repeated parameters so oauthlib
can refuse them (DOT keeps only the last value of each), and telling the validator the origin
the client called."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from oauth2_provider.oauth2_backends import OAuthLibCore

# The header (a WSGI-style key: no client header can spell it) carrying `scheme://host`.
ORIGIN_HEADER = "TANDEM_ORIGIN"


class TandemOAuthLibCore(OAuthLibCore):
    """Every posted value reaches oauthlib, whose `duplicate_params` then sees repeats."""

    def extract_body(self, request: HttpRequest) -> list[tuple[str, Any]]:
        return [(key, value) for key, values in request.POST.lists() for value in values]

    def extract_headers(self, request: HttpRequest) -> dict[str, Any]:
        """DOT's headers, plus the origin the client called: its host is the validated
        `get_host()` (ALLOWED_HOSTS), its scheme Django's."""
        headers: dict[str, Any] = super().extract_headers(request)
        headers[ORIGIN_HEADER] = f"{request.scheme}://{request.get_host()}"
        return headers
