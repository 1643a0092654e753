"""Setup → Network Access, Session Settings, OAuth and OpenID Connect Settings."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tandem.crm.orgs.errors import OrgInvalidError
from tandem.crm.orgs.forms import OAuthSettingsForm, SessionSettingsForm
from tandem.crm.orgs.selectors import trusted_ip_range_get_for_actor, trusted_ip_range_list
from tandem.crm.orgs.services import (
    org_settings_update,
    trusted_ip_range_add,
    trusted_ip_range_delete,
)
from tandem.crm.setup.access import setup_actor, setup_required
from tandem.crm.users.forms import IpRangeForm


@setup_required
def network_access(request: HttpRequest) -> HttpResponse:
    """List, add (New) and delete trusted IP ranges."""
    actor = setup_actor(request)
    action = request.POST.get("action") if request.method == "POST" else None
    form = IpRangeForm(request.POST if action == "add" else None)
    if action == "add" and form.is_valid():
        try:
            trusted_ip_range_add(actor=actor, org=actor.org, **form.cleaned_data)
        except OrgInvalidError as exc:
            form.add_service_errors(exc.errors)
        else:
            return redirect("crm_orgs:network_access")
    if action == "delete":
        raw = request.POST.get("range", "")
        row = trusted_ip_range_get_for_actor(actor=actor, id=int(raw) if raw.isdigit() else 0)
        trusted_ip_range_delete(actor=actor, row=row)
        return redirect("crm_orgs:network_access")
    context = {"ranges": trusted_ip_range_list(actor=actor), "form": form}
    return render(request, "crm/orgs/network_access.html", context)


def _settings_page(
    request: HttpRequest, form_class: type[forms.Form], title: str, url_name: str
) -> HttpResponse:
    """Show and save one group of org settings; audited by the service."""
    actor = setup_actor(request)
    org = actor.org
    initial = {name: getattr(org, name) for name in form_class.base_fields}
    form = form_class(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            org_settings_update(actor=actor, org=org, section=title, changes=form.cleaned_data)
        except OrgInvalidError as exc:
            for field, messages in exc.errors.items():
                for message in messages:
                    form.add_error(field if field in form.fields else None, message)
        else:
            return redirect(url_name)
    context = {"form": form, "title": title}
    return render(request, "crm/orgs/settings.html", context)


@setup_required
def session_settings(request: HttpRequest) -> HttpResponse:
    """Session Settings: timeout and continuous IP enforcement."""
    return _settings_page(
        request, SessionSettingsForm, "Session Settings", "crm_orgs:session_settings"
    )


@setup_required
def oauth_settings(request: HttpRequest) -> HttpResponse:
    """OAuth and OpenID Connect Settings: Allow OAuth Username-Password Flows."""
    return _settings_page(
        request, OAuthSettingsForm, "OAuth and OpenID Connect Settings", "crm_orgs:oauth_settings"
    )
