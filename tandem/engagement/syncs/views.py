"""Synchronized Data Sources pages: the list, Set Up (fields and schedule), Run now, Pause,
Remove; every change is audited by the services, as the signed-in Administrator's."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.engagement.accounts.access import administrator_required, member_of
from tandem.engagement.accounts.models import Account
from tandem.engagement.connect.client import CrmError
from tandem.engagement.connect.errors import ConnectError
from tandem.engagement.syncs import crm, selectors
from tandem.engagement.syncs.errors import SyncError
from tandem.engagement.syncs.filters import OPERATORS, conditions_parse, filtered_create
from tandem.engagement.syncs.models import FilteredDataExtension, Schedule, SyncSource
from tandem.engagement.syncs.remove import source_remove
from tandem.engagement.syncs.run import source_run
from tandem.engagement.syncs.setup import connection_of, crm_fields, source_pause, source_setup

T = "engagement/syncs/"
INDEX = "engagement_syncs:index"


def _account(request: HttpRequest) -> Account:
    account = member_of(request).account
    assert account is not None
    return account


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> Any:
    return render(request, T + template, {"admin_section": "salesforce", **context}, status=status)


def _source(account: Account, object_name: str) -> SyncSource:
    found = selectors.source_get(account.pk, object_name)
    if found is None:
        raise Http404("No synchronized data source for that object.")
    return found


@administrator_required
def index(request: HttpRequest) -> HttpResponse:
    """The sources with their state, last run and counts, and every object to set up."""
    account = _account(request)
    sources = list(selectors.sources_of(account.pk))
    objects: list[tuple[str, str]] = []
    problem = ""
    try:
        objects = crm.objects(connection_of(account))
    except SyncError as exc:
        problem = exc.message
    except (CrmError, ConnectError) as exc:
        problem = f"The CRM's objects cannot be read now: {exc}"
    synced = {source.object_name for source in sources}
    context = {
        "sources": [(source, selectors.source_row(source)) for source in sources],
        "objects": [(name, label) for name, label in objects if name not in synced],
        "problem": problem,
    }
    return _page(request, "index.html", context)


@administrator_required
def setup(request: HttpRequest, object_name: str) -> HttpResponse:
    """Choose the fields and the schedule; a field the CRM does not offer is named beside it."""
    account = _account(request)
    existing = selectors.source_get(account.pk, object_name)
    try:
        offered = crm_fields(connection_of(account), object_name)
    except SyncError as exc:
        messages.error(request, exc.message)
        return redirect(INDEX)
    chosen = request.POST.getlist("fields") if request.method == "POST" else []
    schedule = request.POST.get(
        "schedule", existing.schedule if existing else Schedule.EVERY_15_MINUTES
    )
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            source_setup(
                account=account,
                object_name=object_name,
                fields=chosen,
                schedule=schedule,
                actor=member_of(request),
            )
        except SyncError as exc:
            errors = exc.fields or {exc.field or "__all__": exc.message}
        else:
            messages.success(request, f"{object_name}_Salesforce is set up; it syncs on schedule.")
            return redirect(INDEX)
    elif existing is not None:
        chosen = list(existing.fields)
    names = list(dict.fromkeys([*offered, *chosen]))  # a refused name stays, with its message
    rows = [
        {
            "name": name,
            "field": offered.get(name),
            "checked": name in chosen or name == "Id",
            "error": errors.get(name, ""),
        }
        for name in names
    ]
    context = {
        "object_name": object_name,
        "rows": rows,
        "schedule": schedule,
        "schedules": Schedule.choices,
        "errors": errors,
        "form_error": errors.get("__all__") or errors.get("schedule") or errors.get("object_name"),
        "existing": existing,
    }
    return _page(request, "setup.html", context, status=400 if errors else 200)


@administrator_required
@require_POST
def run(request: HttpRequest, object_name: str) -> HttpResponse:
    """Run now (the run itself holds the source's lease, so it never doubles a scheduled one)."""
    source = _source(_account(request), object_name)
    result = source_run(source_id=source.pk)
    text = (
        f"{source.de_name}: {result.outcome}, {result.added} added, {result.updated} updated, "
        f"{result.deleted} deleted" + (f" — {result.message}" if result.message else "")
    )
    (messages.success if result.outcome == "done" else messages.warning)(request, text)
    return redirect(INDEX)


@administrator_required
@require_POST
def pause(request: HttpRequest, object_name: str) -> HttpResponse:
    source = _source(_account(request), object_name)
    paused = request.POST.get("paused") == "1"
    source_pause(source=source, paused=paused, actor=member_of(request))
    return redirect(INDEX)


@administrator_required
@require_POST
def remove(request: HttpRequest, object_name: str) -> HttpResponse:
    """Remove the source with its data extension and filters, once the box is ticked."""
    source = _source(_account(request), object_name)
    try:
        if request.POST.get("confirm") != "1":
            raise SyncError(f"Tick the box to confirm removing {source.de_name} and its rows.")
        source_remove(source=source, actor=member_of(request))
    except SyncError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{source.de_name} and its data extension are removed.")
    return redirect(INDEX)


@administrator_required
def filtered(request: HttpRequest) -> HttpResponse:
    """Filtered data extensions: the saved ones, and a form for a new one (errors beside)."""
    account = _account(request)
    sources = list(selectors.sources_of(account.pk))
    errors: dict[str, str] = {}
    posted = request.POST if request.method == "POST" else None
    if posted is not None:
        source = next((s for s in sources if str(s.pk) == posted.get("source", "")), None)
        try:
            if source is None:
                raise SyncError("Choose a synchronized data extension.", field="source")
            saved = filtered_create(
                account=account,
                name=posted.get("name", ""),
                source=source,
                conditions=conditions_parse(posted.get("conditions", "")),
                actor=member_of(request),
            )
        except SyncError as exc:
            errors[exc.field or "conditions"] = exc.message
        else:
            messages.success(request, f"{saved.name} saved: it can be the audience of a send.")
            return redirect("engagement_syncs:filtered")
    context = {
        "filters": FilteredDataExtension.objects.filter(account=account).select_related("source"),
        "sources": sources,
        "operators": list(OPERATORS),
        "errors": errors,
        "posted": posted or {},
    }
    return _page(request, "filtered.html", context, status=400 if errors else 200)
