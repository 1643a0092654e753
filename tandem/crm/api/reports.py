"""Analytics REST reads: the reports list, a report's describe, a synchronous run (report JSON)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from tandem.crm.api.errors import ApiError
from tandem.crm.api.serialize import format_datetime
from tandem.crm.orgs.models import Org
from tandem.crm.records.describe import REGISTRY, REPORT
from tandem.crm.records.models import Report
from tandem.crm.records.reports import report_run
from tandem.crm.records.selectors import record_get, record_queryset
from tandem.crm.soql import SoqlError

MAX_LISTED = 200
# Report filter operators by field data type (Salesforce's dataTypeFilterOperatorMap, in part).
_TEXT_OPERATORS = [
    "equals",
    "notEqual",
    "lessThan",
    "greaterThan",
    "lessOrEqual",
    "greaterOrEqual",
    "contains",
    "notContain",
    "startsWith",
]
_ORDERED_OPERATORS = [
    "equals",
    "notEqual",
    "lessThan",
    "greaterThan",
    "lessOrEqual",
    "greaterOrEqual",
]


def _urls(report: Report, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/analytics/reports/{report.pk}"
    return {"describeUrl": f"{base}/describe", "instancesUrl": f"{base}/instances", "url": base}


def reports_list(*, org: Org, version: str) -> list[dict[str, Any]]:
    """The org's reports, most recently changed first (at most 200, as Salesforce's list)."""
    queryset = record_queryset(org=org, sobject=REPORT)
    reports = queryset.order_by("-last_modified_date", "id")[:MAX_LISTED]
    return [{"id": r.pk, "name": r.name, **_urls(r, version)} for r in reports]


def report_get(*, org: Org, report_id: str) -> Report:
    """One of the org's reports, or NOT_FOUND."""
    found = record_get(org=org, sobject=REPORT, record_id=report_id)
    assert isinstance(found, Report)
    return found


def _metadata(report: Report) -> dict[str, Any]:
    sort = report.sort_column
    return {
        "id": report.pk,
        "name": report.name,
        "developerName": report.developer_name,
        "description": report.description,
        "reportFormat": "TABULAR",
        "detailColumns": list(report.columns),
        "aggregates": ["RowCount"],
        "groupingsDown": [],
        "groupingsAcross": [],
        "hasDetailRows": True,
        "reportType": {"type": f"{report.report_type}s", "label": report.get_report_type_display()},
        "reportFilters": report.filters,
        "reportBooleanFilter": None,
        "sortBy": [{"sortColumn": sort, "sortOrder": "Desc" if report.sort_descending else "Asc"}]
        if sort
        else [],
    }


def _column_info(report: Report) -> dict[str, dict[str, Any]]:
    sobject = REGISTRY.get(report.report_type)
    info: dict[str, dict[str, Any]] = {}
    for column in report.columns:
        field = _field(sobject, column)
        info[column] = {
            "dataType": field.type.value if field else "string",
            "label": field.label if field else column,
        }
    return info


def _field(sobject: Any, column: str) -> Any:
    """The field a column names, following one parent relationship (`Account.Name`)."""
    if sobject is None:
        return None
    head, dot, rest = column.partition(".")
    if not dot:
        return sobject.field(head)
    lookup = sobject.relationship(head)
    parent = REGISTRY.get(lookup.reference_to) if lookup and lookup.reference_to else None
    return parent.field(rest) if parent else None


def _extended(report: Report) -> dict[str, Any]:
    return {
        "aggregateColumnInfo": {
            "RowCount": {
                "acrossGroupingContext": None,
                "dataType": "int",
                "downGroupingContext": None,
                "label": "Record Count",
            }
        },
        "detailColumnInfo": _column_info(report),
        "groupingColumnInfo": {},
    }


def _type_metadata(report: Report) -> dict[str, Any]:
    sobject = REGISTRY.get(report.report_type)
    fields = sobject.fields if sobject else ()
    columns = {
        f.name: {
            "label": f.label,
            "dataType": f.type.value,
            "filterable": True,
            "filterValues": [{"label": v, "name": v} for v in f.picklist_values],
        }
        for f in fields
    }
    return {
        "categories": [{"label": report.get_report_type_display(), "columns": columns}],
        "dataTypeFilterOperatorMap": {
            kind: [
                {"label": op, "name": op}
                for op in (
                    _TEXT_OPERATORS
                    if kind in ("string", "email", "phone", "picklist", "textarea", "url")
                    else _ORDERED_OPERATORS
                )
            ]
            for kind in sorted({f.type.value for f in fields})
        },
        "standardDateFilterDurationGroups": [],
        "standardFilterInfos": {},
    }


def report_describe(*, org: Org, report_id: str) -> dict[str, Any]:
    """A report's metadata without running it (GET …/analytics/reports/<id>/describe)."""
    report = report_get(org=org, report_id=report_id)
    return {
        "reportMetadata": _metadata(report),
        "reportExtendedMetadata": _extended(report),
        "reportTypeMetadata": _type_metadata(report),
    }


def _cell(value: Any) -> dict[str, Any]:
    if isinstance(value, dt.datetime):
        text = format_datetime(value)
        return {"label": text, "value": text}
    if isinstance(value, dt.date):
        return {"label": value.isoformat(), "value": value.isoformat()}
    if value is None:
        return {"label": "-", "value": None}
    if isinstance(value, bool):
        return {"label": "true" if value else "false", "value": value}
    return {"label": str(value), "value": value}


def _flat(row: dict[str, Any], key: tuple[str, ...]) -> Any:
    value = row.get(key[0])
    if len(key) == 2:
        return None if value is None else value.get(key[1])
    return value


COLUMN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")


def _bad_metadata(message: str) -> ApiError:
    return ApiError(400, "BAD_REQUEST", message)


def _columns(value: Any) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(c, str) and COLUMN.fullmatch(c) for c in value)
    ):
        raise _bad_metadata("detailColumns must be a non-empty list of field names")
    return list(value)


def _filters(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise _bad_metadata("reportFilters must be a list")
    filters = []
    for item in value:
        column = item.get("column") if isinstance(item, dict) else None
        operator = item.get("operator") if isinstance(item, dict) else None
        given = item.get("value") if isinstance(item, dict) else None
        if not (isinstance(column, str) and COLUMN.fullmatch(column) and isinstance(operator, str)):
            raise _bad_metadata("Each report filter needs a column and an operator")
        if given is not None and not isinstance(given, str | int | float | bool):
            raise _bad_metadata("A report filter value must be a string, number or boolean")
        filters.append({"column": column, "operator": operator, "value": given})
    return filters


def runtime_metadata(body: Any) -> dict[str, Any]:
    """The `reportMetadata` of a POST run: detail columns and filters for this run only."""
    if body is None:
        return {}
    metadata = body.get("reportMetadata") if isinstance(body, dict) else None
    if not isinstance(metadata, dict):
        raise _bad_metadata("The body must hold a reportMetadata object")
    changes: dict[str, Any] = {}
    if "detailColumns" in metadata:
        changes["columns"] = _columns(metadata["detailColumns"])
    if "reportFilters" in metadata:
        changes["filters"] = _filters(metadata["reportFilters"])
    return changes


def report_execute(
    *,
    org: Org,
    report_id: str,
    version: str,
    include_details: bool,
    runtime: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run a report now: Salesforce's report JSON, with detail rows when asked for. `runtime`
    (columns, filters) changes this run only; the saved report stays as it is."""
    report = report_get(org=org, report_id=report_id)
    for name, value in (runtime or {}).items():
        setattr(report, name, value)  # never saved
    try:
        result = report_run(org=org, report=report)
    except SoqlError as error:
        raise ApiError(400, "BAD_REQUEST", error.message) from None
    rows = [
        {"dataCells": [_cell(_flat(r, f.key)) for f in result.query.fields]}
        for r in (result.rows if include_details else [])
    ]
    totals = {
        "aggregates": [{"label": str(result.total), "value": result.total}],
        "key": "T!T",
        "rows": rows,
    }
    metadata = _metadata(report)
    metadata["hasDetailRows"] = include_details
    urls = _urls(report, version)
    return {
        "attributes": {
            "describeUrl": urls["describeUrl"],
            "instancesUrl": urls["instancesUrl"],
            "reportId": report.pk,
            "reportName": report.name,
            "type": "Report",
        },
        "allData": len(result.rows) >= result.total,
        "factMap": {"T!T": totals},
        "groupingsAcross": {"groupings": []},
        "groupingsDown": {"groupings": []},
        "hasDetailRows": include_details,
        "reportExtendedMetadata": _extended(report),
        "reportMetadata": metadata,
    }
