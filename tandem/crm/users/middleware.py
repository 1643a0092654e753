"""Enforce CRM session rules on every request: revoked, expired or foreign sessions end."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse

from tandem.crm.users.models import User
from tandem.crm.users.sessions import user_session_check


class CrmSessionMiddleware:
    """Log out a user whose session was ended, timed out, or belongs to another org's host."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if isinstance(user, User) and not self._valid(request, user):
            logout(request)
        return self.get_response(request)

    def _valid(self, request: HttpRequest, user: User) -> bool:
        host_org = getattr(request, "crm_org", None)
        if host_org is not None and host_org.id != user.org_id:
            return False
        return user_session_check(request=request, user=user)
