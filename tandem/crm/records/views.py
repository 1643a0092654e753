"""Record pages: a list and a detail page per object, reports and their run page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from tandem.crm.records.describe import IER, REGISTRY
from tandem.crm.records.errors import RecordNotFoundError
from tandem.crm.records.models import Report
from tandem.crm.records.reports import report_run
from tandem.crm.records.selectors import record_get, record_queryset
from tandem.crm.soql import SoqlError
from tandem.crm.soql.schema import FieldDescribe, ObjectDescribe
from tandem.crm.users.models import User

PAGE_SIZE = 50


@dataclass(frozen=True)
class ObjectPage:
    """How one object appears in the UI: its URL slug and list columns."""

    slug: str
    sobject: str
    columns: tuple[str, ...]


PAGES = (
    ObjectPage("accounts", "Account", ("Name", "Industry", "BillingCity", "BillingCountry")),
    ObjectPage("contacts", "Contact", ("Name", "Email", "Title", "AccountId")),
    ObjectPage("leads", "Lead", ("Name", "Company", "Email", "Status")),
    ObjectPage("campaigns", "Campaign", ("Name", "Type", "Status", "StartDate")),
    ObjectPage(
        "campaign-members", "CampaignMember", ("CampaignId", "ContactId", "LeadId", "Status")
    ),
    ObjectPage(
        "opportunities", "Opportunity", ("Name", "AccountId", "StageName", "Amount", "CloseDate")
    ),
    ObjectPage("cases", "Case", ("CaseNumber", "Subject", "Status", "Priority", "AccountId")),
    ObjectPage("tasks", "Task", ("Subject", "Status", "Priority", "ActivityDate", "WhoId")),
    ObjectPage("events", "Event", ("Subject", "StartDateTime", "DurationInMinutes", "Location")),
    ObjectPage("reports", "Report", ("Name", "Format", "Description")),
    ObjectPage(
        "email-results",
        IER,
        (
            "Name",
            "et4ae5__Email__c",
            "et4ae5__DateSent__c",
            "et4ae5__Opened__c",
            "et4ae5__Clicked__c",
        ),
    ),
)
BY_SLUG = {p.slug: p for p in PAGES}


def _actor(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _page(slug: str) -> tuple[ObjectPage, ObjectDescribe]:
    page = BY_SLUG.get(slug)
    if page is None:
        raise Http404("No such object")
    sobject = REGISTRY.get(page.sobject)
    assert sobject is not None
    return page, sobject


def _value(record: Any, field: FieldDescribe) -> Any:
    return getattr(record, field.attname)


@login_required
def object_list(request: HttpRequest, slug: str) -> HttpResponse:
    """A page of an object's records, newest first."""
    page, sobject = _page(slug)
    queryset = record_queryset(org=_actor(request).org, sobject=sobject).order_by(
        "-created_date", "id"
    )
    fields = [f for f in (sobject.field(c) for c in page.columns) if f is not None]
    current = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(r.pk, [_value(r, f) for f in fields]) for r in current.object_list]
    return render(
        request,
        "crm/records/list.html",
        {
            "object_page": page,
            "sobject": sobject,
            "fields": fields,
            "rows": rows,
            "page": current,
            "pages": PAGES,
        },
    )


@login_required
def object_detail(request: HttpRequest, slug: str, record_id: str) -> HttpResponse:
    """Every field of one record."""
    page, sobject = _page(slug)
    try:
        record = record_get(org=_actor(request).org, sobject=sobject, record_id=record_id)
    except RecordNotFoundError:
        raise Http404("No such record") from None
    values = [(f, _value(record, f)) for f in sobject.fields]
    return render(
        request,
        "crm/records/detail.html",
        {
            "object_page": page,
            "sobject": sobject,
            "record": record,
            "values": values,
            "pages": PAGES,
        },
    )


@login_required
def report_run_page(request: HttpRequest, record_id: str) -> HttpResponse:
    """Run a report now and show its rows."""
    sobject = REGISTRY.get("Report")
    assert sobject is not None
    try:
        report = record_get(org=_actor(request).org, sobject=sobject, record_id=record_id)
    except RecordNotFoundError:
        raise Http404("No such report") from None
    assert isinstance(report, Report)
    try:
        result = report_run(org=_actor(request).org, report=report)
    except SoqlError as error:
        return render(
            request,
            "crm/records/report_run.html",
            {"report": report, "error": error.message, "pages": PAGES},
            status=400,
        )
    columns = [f.field.label for f in result.query.fields]
    rows = [[_cell(row, f.key) for f in result.query.fields] for row in result.rows]
    return render(
        request,
        "crm/records/report_run.html",
        {
            "report": report,
            "columns": columns,
            "rows": rows,
            "total": result.total,
            "pages": PAGES,
        },
    )


def _cell(row: dict[str, Any], key: tuple[str, ...]) -> Any:
    value = row.get(key[0])
    if len(key) == 2:
        return None if value is None else value.get(key[1])
    return value
