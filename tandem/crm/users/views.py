"""Login and logout, and Setup → Users, Profiles, Login History."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from tandem.crm.setup.access import setup_actor, setup_required
from tandem.crm.users.errors import UserInvalidError
from tandem.crm.users.forms import IpRangeForm, LoginForm, LoginHoursForm, UserEditForm, UserNewForm
from tandem.crm.users.models import LoginStatus, Profile, ProfileLoginHours, User
from tandem.crm.users.policies import client_ip
from tandem.crm.users.selectors import (
    login_history_list,
    org_session_list,
    own_session_list,
    profile_get_for_actor,
    profile_list,
    user_get_for_actor,
    user_list,
    user_session_get_for_actor,
    user_session_list,
)
from tandem.crm.users.services import (
    USER_FLAGS,
    generate_password,
    profile_login_hours_set,
    profile_login_ip_range_add,
    profile_login_ip_range_delete,
    security_token_reset,
    user_authenticate_password,
    user_create,
    user_password_reset,
    user_unlock,
    user_update,
)
from tandem.crm.users.sessions import (
    current_session_hash,
    user_session_end,
    user_session_end_current,
    user_session_end_own,
    user_session_start,
)

GENERIC_LOGIN_ERROR = (
    "Please check your username and password. If you still can't log in, "
    "contact your Salesforce administrator."
)
LOGIN_ERRORS = {
    LoginStatus.LOCKED_OUT: "Your account is locked after too many failed logins. "
    "Try again later or contact your administrator.",
    LoginStatus.RATE_EXCEEDED: "Too many failed logins from your address. Try again later.",
    LoginStatus.LOGIN_HOURS: "IP restricted or invalid login hours",
    LoginStatus.IP_RESTRICTED: "IP restricted or invalid login hours",
    LoginStatus.INACTIVE: "Your user is inactive. Contact your administrator.",
    LoginStatus.FROZEN: "Your user is frozen. Contact your administrator.",
    LoginStatus.ORG_INACTIVE: "Your org is inactive. Contact your administrator.",
}


def _next_url(request: HttpRequest) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("home")


def login_view(request: HttpRequest) -> HttpResponse:
    """Log In: the generic host serves every org; a My Domain host only its own."""
    org = getattr(request, "crm_org", None)
    form = LoginForm(request.POST or None)
    error = ""
    if request.method == "POST" and form.is_valid():
        result = user_authenticate_password(
            username=form.cleaned_data["username"],
            password=form.cleaned_data["password"],
            ip=client_ip(request),
            org=org,
        )
        if result.user is not None:
            user_session_start(request=request, user=result.user)
            return HttpResponseRedirect(_next_url(request))
        error = LOGIN_ERRORS.get(result.status, GENERIC_LOGIN_ERROR)
    context = {"form": form, "error": error, "org": org, "next": _next_url(request)}
    return render(request, "crm/login.html", context, status=400 if error else 200)


def logout_view(request: HttpRequest) -> HttpResponse:
    """Log Out (POST); GET shows the button, so a link can lead here."""
    if request.method == "POST":
        user_session_end_current(request=request)
        return redirect(f"{settings.LOGIN_URL}?{urlencode({'next': _next_url(request)})}")
    return render(request, "crm/logout.html", {"next": _next_url(request)})


@setup_required
def user_list_view(request: HttpRequest) -> HttpResponse:
    """Setup → Users."""
    return render(request, "crm/users/list.html", {"users": user_list(actor=setup_actor(request))})


@setup_required
def user_new(request: HttpRequest) -> HttpResponse:
    """Setup → Users → New User; a generated password is shown once."""
    actor = setup_actor(request)
    form = UserNewForm(request.POST or None, profiles=profile_list(actor=actor))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = data["password"] or generate_password()
        try:
            user = user_create(
                org=actor.org,
                actor=actor,
                username=data["username"],
                email=data["email"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                profile=data["profile"],
                password=password,
                is_marketing_user=data["is_marketing_user"],
                is_api_enabled=data["is_api_enabled"],
            )
        except UserInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            generated = "" if data["password"] else password
            context = {"created": user, "generated_password": generated}
            return render(request, "crm/users/created.html", context)
    return render(request, "crm/users/new.html", {"form": form})


@setup_required
def user_detail(request: HttpRequest, id: str) -> HttpResponse:
    """One user: profile and flags (Save), sessions (End), security token (Reset)."""
    actor = setup_actor(request)
    user = user_get_for_actor(actor=actor, id=id)
    initial = {"profile": user.profile, **{name: getattr(user, name) for name in USER_FLAGS}}
    form = UserEditForm(request.POST or None, initial=initial, profiles=profile_list(actor=actor))
    if request.method == "POST" and form.is_valid():
        flags = {name: form.cleaned_data[name] for name in USER_FLAGS}
        try:
            user_update(actor=actor, user=user, profile=form.cleaned_data["profile"], flags=flags)
        except UserInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            return redirect("crm_users:user_detail", id=user.id)
    sessions = user_session_list(actor=actor, user=user)
    context = {"subject": user, "form": form, "sessions": sessions}
    return render(request, "crm/users/detail.html", context)


@require_POST
@setup_required
def user_security_token_reset(request: HttpRequest, id: str) -> HttpResponse:
    """Reset My Security Token, for a user of the org: the new token is shown once."""
    actor = setup_actor(request)
    user = user_get_for_actor(actor=actor, id=id)
    token = security_token_reset(user=user, actor=actor)
    return render(request, "crm/users/token.html", {"subject": user, "token": token})


@require_POST
@setup_required
def user_unlock_view(request: HttpRequest, id: str) -> HttpResponse:
    """Unlock a user locked out by failed logins."""
    actor = setup_actor(request)
    user_unlock(actor=actor, user=user_get_for_actor(actor=actor, id=id))
    return redirect("crm_users:user_detail", id=id)


@require_POST
@setup_required
def user_password_reset_view(request: HttpRequest, id: str) -> HttpResponse:
    """Reset Password: a generated password, shown once."""
    actor = setup_actor(request)
    user = user_get_for_actor(actor=actor, id=id)
    password = user_password_reset(actor=actor, user=user)
    return render(request, "crm/users/password.html", {"subject": user, "password": password})


@require_POST
@setup_required
def user_session_end_view(request: HttpRequest, id: int) -> HttpResponse:
    """End one session of a user of the org; back to where the button was."""
    actor = setup_actor(request)
    session = user_session_get_for_actor(actor=actor, id=id)
    user_id = session.user_id
    user_session_end(actor=actor, session=session)
    if request.POST.get("back") == "session_management":
        return redirect("crm_users:session_management")
    return redirect("crm_users:user_detail", id=user_id)


@setup_required
def session_management(request: HttpRequest) -> HttpResponse:
    """Session Management: every open session in the org."""
    sessions = org_session_list(actor=setup_actor(request))
    context = {"sessions": sessions, "current": current_session_hash(request)}
    return render(request, "crm/users/session_management.html", context)


@login_required
def my_sessions(request: HttpRequest) -> HttpResponse:
    """My Sessions: the user's own browsers; end any that should not stay logged in."""
    user = request.user
    assert isinstance(user, User)
    if request.method == "POST":
        raw = request.POST.get("session", "")
        user_session_end_own(user=user, session_id=int(raw) if raw.isdigit() else 0)
        return redirect("crm_users:my_sessions")
    sessions = own_session_list(user=user)
    context = {"sessions": sessions, "current": current_session_hash(request)}
    return render(request, "crm/users/my_sessions.html", context)


@setup_required
def profile_list_view(request: HttpRequest) -> HttpResponse:
    """Setup → Profiles."""
    profiles = profile_list(actor=setup_actor(request))
    return render(request, "crm/users/profiles.html", {"profiles": profiles})


def _hours_initial(rows: list[ProfileLoginHours]) -> dict[str, str]:
    initial = {}
    for row in rows:
        initial[f"start_{row.weekday}"] = str(row.start_minutes)
        initial[f"end_{row.weekday}"] = str(row.end_minutes)
    return initial


def _add_range(actor: User, profile: Profile, form: IpRangeForm) -> bool:
    """Add the form's range; False (errors on the form) when refused."""
    if not form.is_valid():
        return False
    try:
        profile_login_ip_range_add(actor=actor, profile=profile, **form.cleaned_data)
    except UserInvalidError as exc:
        form.add_service_errors(exc.errors)
        return False
    return True


def _delete_range(actor: User, profile: Profile, raw_id: str) -> bool:
    """Delete one of the profile's ranges (an unknown id changes nothing); always done."""
    row = profile.login_ip_ranges.filter(id=int(raw_id) if raw_id.isdigit() else 0).first()
    if row is not None:
        profile_login_ip_range_delete(actor=actor, row=row)
    return True


def _set_hours(actor: User, profile: Profile, form: LoginHoursForm, *, clear: bool) -> bool:
    """Save (or clear) the login hours; False (errors on the form) when refused."""
    if clear:
        hours: dict[int, tuple[int, int] | None] = dict.fromkeys(range(7))
    elif form.is_valid():
        hours = form.hours()
    else:
        return False
    if form.day_errors:
        return False
    try:
        profile_login_hours_set(actor=actor, profile=profile, hours=hours)
    except UserInvalidError as exc:
        form.add_service_errors(exc.errors)
        return False
    return True


@setup_required
def profile_detail(request: HttpRequest, id: str) -> HttpResponse:
    """One profile: Login IP Ranges (add, delete) and Login Hours (edit, clear)."""
    actor = setup_actor(request)
    profile = profile_get_for_actor(actor=actor, id=id)
    action = request.POST.get("action") if request.method == "POST" else None
    range_form = IpRangeForm(request.POST if action == "add_range" else None)
    hours_form = LoginHoursForm(
        request.POST if action == "set_hours" else None,
        initial=_hours_initial(list(profile.login_hours.all())),
    )
    handlers = {
        "add_range": lambda: _add_range(actor, profile, range_form),
        "delete_range": lambda: _delete_range(actor, profile, request.POST.get("range", "")),
        "set_hours": lambda: _set_hours(actor, profile, hours_form, clear=False),
        "clear_hours": lambda: _set_hours(actor, profile, hours_form, clear=True),
    }
    handler = handlers.get(action or "")
    if handler is not None and handler():
        return redirect("crm_users:profile_detail", id=profile.id)
    context = {
        "profile": profile,
        "range_form": range_form,
        "hours_form": hours_form,
        "ranges": profile.login_ip_ranges.all(),
    }
    return render(request, "crm/users/profile_detail.html", context)


@setup_required
def login_history(request: HttpRequest) -> HttpResponse:
    """Setup → Login History: every login attempt of the org, newest first."""
    username = request.GET.get("username", "").strip()[:80]
    rows = login_history_list(actor=setup_actor(request), username=username)
    page = Paginator(rows, 100).get_page(request.GET.get("page"))
    return render(request, "crm/users/login_history.html", {"page": page, "username": username})
