"""Setup → Network Access: the org's trusted IP ranges."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from tandem.crm.orgs.errors import OrgInvalidError
from tandem.crm.orgs.selectors import trusted_ip_range_get_for_actor, trusted_ip_range_list
from tandem.crm.orgs.services import trusted_ip_range_add, trusted_ip_range_delete
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
