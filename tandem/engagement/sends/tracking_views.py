"""Public tracking endpoints: open pixel, click redirect, RFC 8058 one-click unsubscribe.

They take no cookies and no CSRF token: the opaque token in the URL is the credential.
"""

from __future__ import annotations

import base64

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from tandem.engagement.sends import services
from tandem.engagement.sends.tracking import record_id_from_token

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def _record_id(token: str) -> int:
    record_id = record_id_from_token(token)
    if record_id is None:
        raise Http404("Unknown link.")
    return record_id


def _agent(request: HttpRequest) -> str:
    return request.headers.get("User-Agent", "")


@require_GET
def open_pixel(request: HttpRequest, token: str) -> HttpResponse:
    """Record an open; answer a transparent 1x1 GIF whatever happens."""
    record_id = record_id_from_token(token)
    if record_id is not None:
        services.tracking_open(record_id=record_id, user_agent=_agent(request))
    response = HttpResponse(PIXEL, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def click(request: HttpRequest, token: str, link: int) -> HttpResponse:
    """Record a click and redirect to the email's link."""
    url = services.tracking_click(
        record_id=_record_id(token), link_index=link, user_agent=_agent(request)
    )
    if url is None or not url.startswith(("http://", "https://")):
        raise Http404("Unknown link.")
    return HttpResponseRedirect(url)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks for confirmation; POST (a person or a mail client's one-click) unsubscribes."""
    record_id = _record_id(token)
    if request.method == "GET":
        return render(request, "engagement/sends/unsubscribe.html", {"token": token, "done": False})
    if not services.tracking_unsubscribe(record_id=record_id, user_agent=_agent(request)):
        raise Http404("Unknown link.")
    return render(request, "engagement/sends/unsubscribe.html", {"token": token, "done": True})
