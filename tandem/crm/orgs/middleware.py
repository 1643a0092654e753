"""Resolve `request.crm_org` from the Host: the org on its My Domain host, None elsewhere."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse

from tandem.crm.orgs.domains import my_domain_from_host
from tandem.crm.orgs.models import Org


class OrgHostMiddleware:
    """Set `request.crm_org`; an unknown My Domain host answers 404."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        slug = my_domain_from_host(request.get_host())
        org = None
        if slug is not None:
            org = Org.objects.filter(my_domain=slug).first()
            if org is None:
                raise Http404("No org uses this My Domain.")
        request.crm_org = org  # type: ignore[attr-defined]
        return self.get_response(request)
