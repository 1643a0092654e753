"""DOT's bridge between Django requests and oauthlib, keeping repeated parameters so oauthlib
can refuse them (DOT keeps only the last value of each)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from oauth2_provider.oauth2_backends import OAuthLibCore


class TandemOAuthLibCore(OAuthLibCore):
    """Every posted value reaches oauthlib, whose `duplicate_params` then sees repeats."""

    def extract_body(self, request: HttpRequest) -> list[tuple[str, Any]]:
        return [(key, value) for key, values in request.POST.lists() for value in values]
