"""Setup → Connected Apps: list, New, detail, Edit Policies, Manage Profiles / Permission Sets,
trusted IP ranges, secret rotation, Connected Apps OAuth Usage with Revoke; and a user's own
approvals."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.crm.connectedapps.errors import ConnectedAppInvalidError
from tandem.crm.connectedapps.forms import ConnectedAppForm, IpRangeForm, PolicyForm
from tandem.crm.connectedapps.models import ConnectedApp
from tandem.crm.connectedapps.selectors import (
    connected_app_ip_range_get,
    connected_app_ip_range_list,
    connected_app_policy_get_for_actor,
    connected_app_policy_list,
    connected_app_usage_list,
    linked_permission_set_ids,
    linked_profile_ids,
    my_connected_apps,
    org_permission_sets,
    org_profiles,
)
from tandem.crm.connectedapps.services import (
    connected_app_access_revoke,
    connected_app_create,
    connected_app_ip_range_add,
    connected_app_ip_range_delete,
    connected_app_permission_sets_set,
    connected_app_policy_set,
    connected_app_profiles_set,
    connected_app_secret_rotate,
    connected_app_update,
)
from tandem.crm.setup.access import setup_actor, setup_required
from tandem.crm.users.models import User


@setup_required
def app_list(request: HttpRequest) -> HttpResponse:
    """Connected Apps of the org (its own, and those its users authorized)."""
    rows = connected_app_policy_list(actor=setup_actor(request))
    return render(request, "crm/connectedapps/list.html", {"rows": rows})


@setup_required
def app_new(request: HttpRequest) -> HttpResponse:
    """New Connected App; the consumer secret is shown once, after Save."""
    actor = setup_actor(request)
    form = ConnectedAppForm(
        request.POST or None, initial={"oauth_scopes": ["api", "refresh_token"]}
    )
    if request.method == "POST" and form.is_valid():
        try:
            created = connected_app_create(
                org=actor.org,
                actor=actor,
                name=form.cleaned_data["name"],
                callback_urls=form.callback_list(),
                scopes=form.cleaned_data["oauth_scopes"],
                contact_email=form.cleaned_data["contact_email"],
                certificate=form.cleaned_data["certificate"],
                pkce_required=form.cleaned_data["pkce_required"],
                refresh_token_rotation=form.cleaned_data["refresh_token_rotation_enabled"],
            )
        except ConnectedAppInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            context = {"app": created.app, "secret": created.consumer_secret}
            return render(request, "crm/connectedapps/secret.html", context)
    return render(request, "crm/connectedapps/new.html", {"form": form})


@setup_required
def app_detail(request: HttpRequest, app_id: str) -> HttpResponse:
    """The app, its OAuth policies and its pre-authorized profiles and permission sets."""
    row = connected_app_policy_get_for_actor(actor=setup_actor(request), app_id=app_id)
    context = {
        "row": row,
        "app": row.app,
        "policy": row.as_policy(),
        "owned": row.app.org_id == row.org_id,
        "permission_sets": row.access.filter(permission_set__isnull=False).select_related(
            "permission_set"
        ),
        "profiles": row.access.filter(profile__isnull=False).select_related("profile"),
        "ip_ranges": connected_app_ip_range_list(policy=row),
    }
    return render(request, "crm/connectedapps/detail.html", context)


@setup_required
def ip_range_new(request: HttpRequest, app_id: str) -> HttpResponse:
    """New Trusted IP Range for OAuth Web Server Flow (whoever may edit the app's policies)."""
    actor = setup_actor(request)
    row = connected_app_policy_get_for_actor(actor=actor, app_id=app_id)
    form = IpRangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            connected_app_ip_range_add(actor=actor, policy=row, **form.cleaned_data)
        except ConnectedAppInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            return redirect("crm_connectedapps:app_detail", app_id=app_id)
    context = {"row": row, "app": row.app, "form": form}
    return render(request, "crm/connectedapps/ip_range_new.html", context)


@setup_required
@require_POST
def ip_range_delete(request: HttpRequest, app_id: str, range_id: int) -> HttpResponse:
    """Delete one of the app's trusted IP ranges in the actor's org."""
    actor = setup_actor(request)
    row = connected_app_policy_get_for_actor(actor=actor, app_id=app_id)
    found = connected_app_ip_range_get(policy=row, id=range_id)
    connected_app_ip_range_delete(actor=actor, policy=row, row=found)
    return redirect("crm_connectedapps:app_detail", app_id=app_id)


@setup_required
def policy_edit(request: HttpRequest, app_id: str) -> HttpResponse:
    """Edit Policies: Permitted Users, IP Relaxation, Refresh Token Policy, session timeout."""
    actor = setup_actor(request)
    row = connected_app_policy_get_for_actor(actor=actor, app_id=app_id)
    initial = {
        "permitted_users": row.permitted_users,
        "ip_relaxation": row.ip_relaxation,
        "refresh_token_policy": row.refresh_token_policy,
        "refresh_token_validity": row.refresh_token_validity or None,
        "refresh_token_unit": row.refresh_token_unit,
        "session_timeout_minutes": row.session_timeout_minutes,
    }
    form = PolicyForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            connected_app_policy_set(
                actor=actor,
                policy=row,
                permitted_users=data["permitted_users"],
                ip_relaxation=data["ip_relaxation"],
                refresh_token_policy=data["refresh_token_policy"],
                refresh_token_validity=data["refresh_token_validity"] or 0,
                refresh_token_unit=data["refresh_token_unit"] or "DAYS",
                session_timeout_minutes=data["session_timeout_minutes"],
            )
        except ConnectedAppInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            return redirect("crm_connectedapps:app_detail", app_id=app_id)
    return render(
        request, "crm/connectedapps/edit.html", {"row": row, "app": row.app, "form": form}
    )


@setup_required
def app_edit(request: HttpRequest, app_id: str) -> HttpResponse:
    """Edit Settings: name, contact, callback URLs, scopes, PKCE, refresh token rotation,
    certificate (owner org only)."""
    actor = setup_actor(request)
    row = connected_app_policy_get_for_actor(actor=actor, app_id=app_id)
    app = row.app
    if app.org_id != actor.org_id:
        raise Http404("Only the org that owns the app can edit its settings.")
    initial = {
        "name": app.name,
        "contact_email": app.contact_email,
        "callback_urls": "\n".join(app.callback_urls),
        "oauth_scopes": app.scope_list,
        "pkce_required": app.pkce_required,
        "certificate": app.certificate,
        "refresh_token_rotation_enabled": app.refresh_token_rotation_enabled,
    }
    form = ConnectedAppForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            connected_app_update(
                actor=actor,
                app=app,
                org=actor.org,
                name=form.cleaned_data["name"],
                callback_urls=form.callback_list(),
                scopes=form.cleaned_data["oauth_scopes"],
                contact_email=form.cleaned_data["contact_email"],
                certificate=form.cleaned_data["certificate"],
                pkce_required=form.cleaned_data["pkce_required"],
                refresh_token_rotation=form.cleaned_data["refresh_token_rotation_enabled"],
            )
        except ConnectedAppInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            return redirect("crm_connectedapps:app_detail", app_id=app_id)
    return render(request, "crm/connectedapps/settings.html", {"app": app, "form": form})


@setup_required
@require_POST
def secret_rotate(request: HttpRequest, app_id: str) -> HttpResponse:
    """A new consumer secret (the org that owns the app only), shown once."""
    actor = setup_actor(request)
    row = connected_app_policy_get_for_actor(actor=actor, app_id=app_id)
    if row.app.org_id != actor.org_id:
        raise Http404("Only the org that owns the app can rotate its secret.")
    secret = connected_app_secret_rotate(actor=actor, app=row.app, org=actor.org)
    return render(request, "crm/connectedapps/secret.html", {"app": row.app, "secret": secret})


@setup_required
def manage_permission_sets(request: HttpRequest, app_id: str) -> HttpResponse:
    """Manage Permission Sets: holders of the selected sets are pre-authorized."""
    return _manage_links(
        request,
        app_id,
        kind="Permission Sets",
        field="permission_set",
        choices_of=org_permission_sets,
        selected_of=linked_permission_set_ids,
        save=lambda actor, row, chosen: connected_app_permission_sets_set(
            actor=actor, policy=row, permission_sets=chosen
        ),
    )


@setup_required
def manage_profiles(request: HttpRequest, app_id: str) -> HttpResponse:
    """Manage Profiles: users of the selected profiles are pre-authorized."""
    return _manage_links(
        request,
        app_id,
        kind="Profiles",
        field="profile",
        choices_of=org_profiles,
        selected_of=linked_profile_ids,
        save=lambda actor, row, chosen: connected_app_profiles_set(
            actor=actor, policy=row, profiles=chosen
        ),
    )


def _manage_links(
    request: HttpRequest,
    app_id: str,
    *,
    kind: str,
    field: str,
    choices_of: Callable[..., QuerySet[Any]],
    selected_of: Callable[..., Any],
    save: Callable[[Any, Any, list[Any]], object],
) -> HttpResponse:
    """One page for both link kinds: tick the profiles or permission sets that pre-authorize."""
    actor = setup_actor(request)
    row = connected_app_policy_get_for_actor(actor=actor, app_id=app_id)
    choices = choices_of(actor=actor)
    error = ""
    if request.method == "POST":
        chosen = list(choices.filter(id__in=request.POST.getlist(field)))
        try:
            save(actor, row, chosen)
        except ConnectedAppInvalidError as exc:
            error = str(exc)
        else:
            return redirect("crm_connectedapps:app_detail", app_id=app_id)
    context = {
        "row": row,
        "app": row.app,
        "choices": choices,
        "error": error,
        "selected": selected_of(policy=row),
        "kind": kind,
        "field": field,
    }
    return render(request, "crm/connectedapps/manage_links.html", context)


@setup_required
def usage(request: HttpRequest) -> HttpResponse:
    """Connected Apps OAuth Usage: per app, the users holding tokens, last use, use count."""
    rows = connected_app_usage_list(actor=setup_actor(request))
    return render(request, "crm/connectedapps/usage.html", {"rows": rows})


@setup_required
@require_POST
def usage_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke one user's tokens and approval for one app (users of the org only)."""
    actor = setup_actor(request)
    found = (
        connected_app_usage_list(actor=actor)
        .filter(app_id=request.POST.get("app", ""), user_id=request.POST.get("user", ""))
        .first()
    )
    if found is None:
        raise Http404("No such usage.")
    connected_app_access_revoke(actor=actor, app=found.app, user=found.user)
    return redirect("crm_connectedapps:usage")


@login_required
def my_apps(request: HttpRequest) -> HttpResponse:
    """The apps the user has approved or used, each revocable."""
    user = request.user
    assert isinstance(user, User)
    return render(request, "crm/connectedapps/mine.html", {"rows": my_connected_apps(user=user)})


@login_required
@require_POST
def my_app_revoke(request: HttpRequest) -> HttpResponse:
    """Revoke the user's own approval and tokens for one app."""
    user = request.user
    assert isinstance(user, User)
    app = ConnectedApp.objects.filter(pk=request.POST.get("app", "")).first()
    if app is None:
        raise Http404("No such app.")
    connected_app_access_revoke(actor=user, app=app, user=user)
    return redirect("crm_my_apps:list")
