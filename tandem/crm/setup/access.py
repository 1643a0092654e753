"""Who may open Setup: logged-in administrators of the org (Modify All Data)."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tandem.crm.users.models import User

View = Callable[..., HttpResponse]


def setup_actor(request: HttpRequest) -> User:
    """The administrator making this request (the decorator has checked it)."""
    user = request.user
    assert isinstance(user, User)
    return user


def setup_required(view: View) -> View:
    """Anonymous → the login page; logged in without Modify All Data → 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user = request.user
        if not isinstance(user, User) or not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not user.is_org_admin:
            raise PermissionDenied("Setup is for administrators.")
        return view(request, *args, **kwargs)

    return wrapper
