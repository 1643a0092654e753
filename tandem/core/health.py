"""The /healthz endpoint: 200 when the service's database answers, else 503."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


def database_is_reachable() -> bool:
    """Run a trivial query on the default database."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.warning("health check: database unreachable", exc_info=True)
        return False
    return True


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Report the service name and whether its database is reachable."""
    healthy = database_is_reachable()
    body = {
        "status": "ok" if healthy else "unavailable",
        "service": settings.SERVICE,
        "database": "ok" if healthy else "unreachable",
    }
    return JsonResponse(body, status=200 if healthy else 503)
