"""Who may open a page: signed-in members of an account, and its Administrators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseBase
from django.urls import reverse

from tandem.engagement.accounts.models import User

View = Callable[..., HttpResponseBase]


def member_of(request: HttpRequest) -> User:
    """The signed-in user, known to belong to an account (checked by the decorators)."""
    user = request.user
    assert isinstance(user, User)
    return user


def _denied(request: HttpRequest, *, administrator: bool) -> HttpResponseBase | None:
    """Why `request` may not open the page: a redirect to the login page for an anonymous
    visitor, PermissionDenied (403) for a user without an account or, where `administrator`,
    without the Administrator role; None when it may."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("engagement_accounts:login"))
    if not isinstance(user, User) or user.account_id is None:
        raise PermissionDenied("You do not belong to an Engagement account.")
    if administrator and not user.is_account_admin:
        raise PermissionDenied("Only Administrators may open Admin pages.")
    return None


def _guarded(view: View, *, administrator: bool) -> View:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        denied = _denied(request, administrator=administrator)
        return denied if denied is not None else view(request, *args, **kwargs)

    return wrapped


def account_member_required(view: View) -> View:
    """Anonymous visitors go to the login page; users without an account get 403."""
    return _guarded(view, administrator=False)


def administrator_required(view: View) -> View:
    """Like account_member_required, and the user must hold the Administrator role."""
    return _guarded(view, administrator=True)
