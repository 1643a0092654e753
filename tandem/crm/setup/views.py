"""The Setup shell: home, Quick Find results, Setup Audit Trail (and its CSV export)."""

from __future__ import annotations

import csv
import json

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from tandem.crm.setup.access import setup_actor, setup_required
from tandem.crm.setup.menu import matching
from tandem.crm.setup.selectors import setup_audit_list, setup_audit_sections

PAGE_SIZE = 50
CSV_COLUMNS = ("Date", "User", "Section", "Action", "Target", "Old Value", "New Value")


@setup_required
def setup_home(request: HttpRequest) -> HttpResponse:
    """Setup's landing page; `?q=` lists the matching entries (Quick Find without JavaScript)."""
    query = request.GET.get("q", "").strip()
    results = matching(query) if query else []
    return render(request, "crm/setup/home.html", {"query": query, "results": results})


def _filters(request: HttpRequest) -> dict[str, str]:
    return {key: request.GET.get(key, "").strip()[:100] for key in ("query", "section", "user")}


@setup_required
def audit_trail(request: HttpRequest) -> HttpResponse:
    """Every Setup change of the org, newest first, filterable."""
    actor = setup_actor(request)
    filters = _filters(request)
    rows = setup_audit_list(actor=actor, **filters)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "filters": filters,
        "sections": setup_audit_sections(actor=actor),
        "export_query": request.GET.urlencode(),
    }
    return render(request, "crm/setup/audit_trail.html", context)


def _safe(text: str) -> str:
    # Spreadsheets run cells starting with these as formulas (CSV injection).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _cell(value: object) -> str:
    if value is None:
        return ""
    return _safe(json.dumps(value, ensure_ascii=False, sort_keys=True))


@setup_required
def audit_trail_csv(request: HttpRequest) -> HttpResponse:
    """The filtered trail as RFC 4180 CSV (UTF-8, header row always present)."""
    rows = setup_audit_list(actor=setup_actor(request), **_filters(request))
    stamp = timezone.now().strftime("%Y-%m-%d")
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="SetupAuditTrail_{stamp}.csv"'
    writer = csv.writer(response, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows.iterator():
        writer.writerow(
            [
                row.occurred_at.isoformat(),
                _safe(row.actor_label),
                row.section,
                row.action,
                _safe(row.target),
                _cell(row.old_value),
                _cell(row.new_value),
            ]
        )
    return response
