"""503 instead of a server error when the service's database cannot be reached.

When every connection slot of the database is taken (`too many clients`), or the server is
down or restarting, opening a connection fails. Each request opens its connection first
(nothing to do while a persistent connection is open); a request that meets a connection the
server ended (in a view, or in a middleware, where Django makes it a 500) answers the same way:
503 with `Retry-After`, a plain page here, the words of each surface in the CRM's subclass.
Nothing else changes: other database errors stay server errors.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from html import escape

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 10
EXEMPT = ("/healthz",)  # it checks the database itself and answers 503 in its own JSON
MESSAGE = "The service cannot reach its database right now. Try again in a moment."
PAGE = (
    '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
    "<title>Service unavailable</title></head><body><h1>Service unavailable</h1>"
    "<p>{message}</p></body></html>"
)


def connection_lost() -> bool:
    """The default connection could not be opened, or broke (the server ended it)."""
    raw = connection.connection
    return raw is None or bool(getattr(raw, "broken", False) or getattr(raw, "closed", False))


def unavailable_page(message: str = MESSAGE) -> HttpResponse:
    """The plain 503 page, with Retry-After."""
    response = HttpResponse(PAGE.format(message=escape(message)), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class DatabaseUnavailableMiddleware:
    """Answer 503 (see the module) rather than let a failed connection become a 500."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.exempt = (*EXEMPT, *([settings.STATIC_URL] if settings.STATIC_URL else []))

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info.startswith(self.exempt):
            return self.get_response(request)
        try:
            connection.ensure_connection()
        except DatabaseError as exc:
            return self.unavailable(request, exc)
        response = self.get_response(request)
        if response.status_code == 500 and connection_lost():
            # A persistent connection the server ended, met in a middleware rather than a
            # view: Django made it a 500 already; the cause is the database all the same.
            return self.unavailable(request, DatabaseError("the connection was lost"))
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, DatabaseError) and connection_lost():
            return self.unavailable(request, exception)
        return None

    def unavailable(self, request: HttpRequest, exc: Exception) -> HttpResponse:
        logger.warning(
            "database unavailable, %s %s answered 503: %s",
            request.method,
            request.path,
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
        )
        response = self.respond(request)
        response.setdefault("Retry-After", str(RETRY_AFTER_SECONDS))
        return response

    def respond(self, request: HttpRequest) -> HttpResponse:
        """The 503 in the words of the surface `request` reached (a plain page here)."""
        return unavailable_page()
