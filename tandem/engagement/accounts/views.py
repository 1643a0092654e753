"""Login, logout and the Admin pages of an Engagement account."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.engagement.accounts import selectors, services
from tandem.engagement.accounts.access import administrator_required, member_of
from tandem.engagement.accounts.forms import (
    AccountSettingsForm,
    ThrottledLoginForm,
    UserCreateForm,
    UserRoleForm,
)

STUDIO_HOME = "/email/"


class LoginView(auth_views.LoginView):
    """The Engagement login page; signed-in users go straight to Email Studio."""

    template_name = "engagement/accounts/login.html"
    redirect_authenticated_user = True
    authentication_form = ThrottledLoginForm

    def form_invalid(self, form: ThrottledLoginForm) -> HttpResponse:  # type: ignore[override]
        response = super().form_invalid(form)
        if form.throttled:
            response.status_code = 429
        return response

    def get_default_redirect_url(self) -> str:
        return STUDIO_HOME


class LogoutView(auth_views.LogoutView):
    """Sign out (POST only, as Django requires) and return to the login page."""

    next_page = "engagement_accounts:login"


@administrator_required
def admin_settings(request: HttpRequest) -> HttpResponse:
    """Admin > Account Settings: the account's switches, e.g. My Documents in Content."""
    actor = member_of(request)
    account = actor.account
    assert account is not None
    form = AccountSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={"my_documents_in_content": account.my_documents_in_content},
    )
    if request.method == "POST" and form.is_valid():
        services.account_settings_update(
            actor=actor, my_documents_in_content=form.cleaned_data["my_documents_in_content"]
        )
        messages.success(request, "Account settings saved.")
        return redirect("engagement_accounts:admin_settings")
    return render(
        request,
        "engagement/admin/settings.html",
        {"form": form, "account": account, "admin_section": "settings"},
    )


@administrator_required
def admin_users(request: HttpRequest) -> HttpResponse:
    """Admin > Users: list the account's users and add one."""
    actor = member_of(request)
    assert actor.account is not None
    form = UserCreateForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_create(actor=actor, **form.cleaned_data)
        except services.AccountError as exc:
            form.add_error("username" if "username" in str(exc) else "password", str(exc))
        else:
            messages.success(request, f"User {form.cleaned_data['username']} added.")
            return redirect("engagement_accounts:admin_users")
    users = selectors.user_list(account=actor.account)
    rows = [
        (user, UserRoleForm(initial={"role": user.role}, prefix=str(user.pk))) for user in users
    ]
    return render(
        request,
        "engagement/admin/users.html",
        {"form": form, "rows": rows, "admin_section": "users"},
    )


@require_POST
@administrator_required
def admin_user_role(request: HttpRequest, user_id: int) -> HttpResponse:
    """Change one user's role."""
    actor = member_of(request)
    user = selectors.user_get_for_actor(actor=actor, user_id=user_id)
    if user is None:
        raise Http404("No such user in your account.")
    form = UserRoleForm(request.POST, prefix=str(user.pk))
    if not form.is_valid():
        messages.error(request, "Choose a valid role.")
    else:
        try:
            services.user_role_change(actor=actor, user=user, role=form.cleaned_data["role"])
        except services.AccountError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Role of {user.get_username()} saved.")
    return redirect("engagement_accounts:admin_users")


@administrator_required
def admin_audit(request: HttpRequest) -> HttpResponse:
    """Admin > Audit Trail: who changed what, when, old and new values."""
    actor = member_of(request)
    assert actor.account is not None
    events = selectors.audit_event_list(account=actor.account)
    return render(
        request, "engagement/admin/audit.html", {"events": events, "admin_section": "audit"}
    )
