"""Running a saved report: its definition becomes a SOQL query run through the same engine."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from tandem.crm.orgs.models import Org
from tandem.crm.records.describe import REGISTRY
from tandem.crm.records.models import Report
from tandem.crm.records.selectors import record_queryset
from tandem.crm.soql import SoqlError, parse
from tandem.crm.soql.bind import BoundQuery, bind
from tandem.crm.soql.orm import page, total_size

MAX_DETAIL_ROWS = 2000
# Report filter operators (Salesforce's names) and the SOQL they become.
OPERATORS = {
    "equals": "=",
    "notEqual": "!=",
    "lessThan": "<",
    "greaterThan": ">",
    "lessOrEqual": "<=",
    "greaterOrEqual": ">=",
}
LIKE_OPERATORS = {"contains": "%{}%", "startsWith": "{}%"}


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%").replace("_", "\\_")


def _literal(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    text = str(value)
    # Dates, date literals and numbers go bare; everything else is quoted.
    if text.replace("-", "").replace(":", "").replace("_", "").isalnum() and (
        text[:1].isdigit() or text.isupper()
    ):
        return text
    return _quote(text)


def _filter(item: dict[str, Any]) -> str:
    column, operator, value = item["column"], item["operator"], item.get("value")
    if operator in LIKE_OPERATORS:
        return f"{column} LIKE '{LIKE_OPERATORS[operator].format(_like(str(value)))}'"
    if operator == "notContain":
        return f"(NOT {column} LIKE '%{_like(str(value))}%')"
    if operator not in OPERATORS:
        raise SoqlError("INVALID_REPORT_FILTER", f"Unknown report filter operator: {operator}")
    return f"{column} {OPERATORS[operator]} {_literal(value)}"


def report_soql(report: Report) -> str:
    """The SOQL equivalent of a report definition."""
    # SOQL text, not SQL: it goes through the parser, and values are quoted above.
    text = f"SELECT {', '.join(report.columns)} FROM {report.report_type}"  # noqa: S608
    if report.filters:
        text += " WHERE " + " AND ".join(_filter(f) for f in report.filters)
    if report.sort_column:
        text += f" ORDER BY {report.sort_column} {'DESC' if report.sort_descending else 'ASC'}"
    return text


@dataclass(frozen=True)
class ReportResult:
    query: BoundQuery
    total: int
    rows: list[dict[str, Any]]


def report_run(*, org: Org, report: Report) -> ReportResult:
    """Run a report now (synchronously) for the org: its detail rows, at most 2,000."""
    query = bind(parse(report_soql(report)), REGISTRY, today=timezone.now().date())
    queryset = record_queryset(org=org, sobject=query.sobject)
    rows = page(query, queryset, position=0, size=MAX_DETAIL_ROWS)
    return ReportResult(query, total_size(query, queryset), rows)
