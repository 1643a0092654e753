"""Subscribers pages: data extensions, their fields, rows, imports and exports."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.engagement.accounts.access import account_member_required, member_of
from tandem.engagement.content.uploads import (
    capped_upload,
    human_size,
    refuse_upload,
    upload_refused_above,
)
from tandem.engagement.data import imports, selectors, services
from tandem.engagement.data.exports import data_extension_export
from tandem.engagement.data.forms import (
    DataExtensionForm,
    FieldForm,
    FieldFormSet,
    ImportForm,
    RowForm,
    SendableForm,
)
from tandem.engagement.data.models import DataExtension, DataExtensionRow, DataImport

ROWS_PER_PAGE = 50


def _data_extension_or_404(request: HttpRequest, data_extension_id: int) -> DataExtension:
    found = selectors.data_extension_get_for_actor(
        actor=member_of(request), data_extension_id=data_extension_id
    )
    if found is None:
        raise Http404("No such data extension.")
    return found


def _row_or_404(data_extension: DataExtension, row_id: int) -> DataExtensionRow:
    row = selectors.row_get(data_extension=data_extension, row_id=row_id)
    if row is None:
        raise Http404("No such row.")
    return row


class _Echo:
    """A write-only buffer: csv.writer hands each line straight to the response."""

    def write(self, value: str) -> str:
        return value


def _csv_response(records: Iterable[list[str]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # a BOM, so spreadsheet programs read the file as UTF-8
        for record in records:
            yield writer.writerow(record)

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@account_member_required
def data_extension_list(request: HttpRequest) -> HttpResponse:
    """Subscribers: the account's data extensions."""
    found = selectors.data_extension_list(actor=member_of(request))
    return render(request, "engagement/data/list.html", {"data_extensions": found})


@account_member_required
def data_extension_create(request: HttpRequest) -> HttpResponse:
    """Create a data extension with its fields."""
    posted = request.POST if request.method == "POST" else None
    form, formset = DataExtensionForm(posted), FieldFormSet(posted, prefix="fields")
    if posted is not None and form.is_valid() and formset.is_valid():
        specs = [
            services.FieldSpec(**row)
            for row in formset.cleaned_data
            if row and row.get("name", "").strip()
        ]
        sendable = services.Sendable(
            form.cleaned_data["is_sendable"],
            form.cleaned_data["subscriber_key_field"],
            form.cleaned_data["email_field"],
        )
        try:
            created = services.data_extension_create(
                actor=member_of(request),
                name=form.cleaned_data["name"],
                fields=specs,
                sendable=sendable,
            )
        except services.DataExtensionError as exc:
            _place_error(form, exc)
        else:
            return redirect("engagement_data:detail", data_extension_id=created.pk)
    return render(request, "engagement/data/create.html", {"form": form, "formset": formset})


def _place_error(form: DataExtensionForm, exc: services.DataExtensionError) -> None:
    field = exc.field if exc.field in form.fields else None
    form.add_error(field, str(exc))


def _detail(request: HttpRequest, data_extension: DataExtension, **forms: object) -> HttpResponse:
    fields = list(data_extension.fields.all())
    page = Paginator(selectors.row_list(data_extension=data_extension), ROWS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    sendable_form = forms.get("sendable_form") or SendableForm(
        initial={
            "is_sendable": data_extension.is_sendable,
            "subscriber_key_field": data_extension.subscriber_key_field,
            "email_field": data_extension.email_field,
        },
        field_names=[field.name for field in fields],
    )
    context = {
        "data_extension": data_extension,
        "fields": fields,
        "page": page,
        "rows": [
            (row.pk, [row.values.get(f.name, "") for f in fields]) for row in page.object_list
        ],
        "field_form": forms.get("field_form") or FieldForm(),
        "sendable_form": sendable_form,
        "import_form": forms.get("import_form") or ImportForm(),
        "imports": selectors.data_import_list(data_extension=data_extension),
        "max_import": human_size(imports.import_max_bytes()),
    }
    return render(request, "engagement/data/detail.html", context)


@account_member_required
def data_extension_detail(request: HttpRequest, data_extension_id: int) -> HttpResponse:
    """One data extension: fields, sendable settings, rows, import and export."""
    return _detail(request, _data_extension_or_404(request, data_extension_id))


@require_POST
@account_member_required
def field_add(request: HttpRequest, data_extension_id: int) -> HttpResponse:
    """Add a field to a data extension."""
    data_extension = _data_extension_or_404(request, data_extension_id)
    form = FieldForm(request.POST)
    if form.is_valid():
        try:
            services.data_extension_field_add(
                actor=member_of(request),
                data_extension=data_extension,
                spec=services.FieldSpec(**form.cleaned_data),
            )
        except services.DataExtensionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, f"Field {form.cleaned_data['name']} added.")
            return redirect("engagement_data:detail", data_extension_id=data_extension.pk)
    return _detail(request, data_extension, field_form=form)


@require_POST
@account_member_required
def sendable_update(request: HttpRequest, data_extension_id: int) -> HttpResponse:
    """Save the sendable flag, subscriber key field and email field."""
    data_extension = _data_extension_or_404(request, data_extension_id)
    names = [field.name for field in data_extension.fields.all()]
    form = SendableForm(request.POST, field_names=names)
    if form.is_valid():
        try:
            services.data_extension_sendable_update(
                actor=member_of(request),
                data_extension=data_extension,
                sendable=services.Sendable(**form.cleaned_data),
            )
        except services.DataExtensionError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, "Sendable settings saved.")
            return redirect("engagement_data:detail", data_extension_id=data_extension.pk)
    data_extension.refresh_from_db()
    return _detail(request, data_extension, sendable_form=form)


@require_POST
@account_member_required
def data_extension_delete(request: HttpRequest, data_extension_id: int) -> HttpResponse:
    """Delete a data extension and its rows."""
    data_extension = _data_extension_or_404(request, data_extension_id)
    try:
        services.data_extension_delete(actor=member_of(request), data_extension=data_extension)
    except services.DataExtensionError as exc:
        messages.error(request, str(exc))
        return redirect("engagement_data:detail", data_extension_id=data_extension.pk)
    messages.success(request, f"Data extension {data_extension.name} deleted.")
    return redirect("engagement_data:list")


@account_member_required
def row_edit(
    request: HttpRequest, data_extension_id: int, row_id: int | None = None
) -> HttpResponse:
    """Add a row (no row_id) or edit one."""
    data_extension = _data_extension_or_404(request, data_extension_id)
    row = _row_or_404(data_extension, row_id) if row_id is not None else None
    fields = list(data_extension.fields.all())
    initial = row.values if row is not None else {}
    posted = request.POST if request.method == "POST" else None
    form = RowForm(posted, initial=initial, fields=fields)
    if posted is not None and form.is_valid():
        actor = member_of(request)
        try:
            if row is None:
                services.row_create(
                    actor=actor, data_extension=data_extension, cells=form.cleaned_data
                )
            else:
                services.row_update(actor=actor, row=row, cells=form.cleaned_data)
        except services.DataExtensionError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Row saved.")
            return redirect("engagement_data:detail", data_extension_id=data_extension.pk)
    context = {"data_extension": data_extension, "form": form, "row": row}
    return render(request, "engagement/data/row.html", context)


@require_POST
@account_member_required
def row_delete(request: HttpRequest, data_extension_id: int, row_id: int) -> HttpResponse:
    """Delete one row."""
    data_extension = _data_extension_or_404(request, data_extension_id)
    services.row_delete(actor=member_of(request), row=_row_or_404(data_extension, row_id))
    messages.success(request, "Row deleted.")
    return redirect("engagement_data:detail", data_extension_id=data_extension.pk)


@require_POST
@capped_upload(imports.import_max_bytes)
@account_member_required
def import_start(request: HttpRequest, data_extension_id: int) -> HttpResponse:
    """Check the uploaded CSV as a whole, then import its rows in the background."""
    data_extension = _data_extension_or_404(request, data_extension_id)
    form = ImportForm(request.POST, request.FILES)
    refused = upload_refused_above(request)
    if refused is not None:
        limit = human_size(refused)
        refuse_upload(form, "file", f"The file is larger than the {limit} limit for imports.")
    elif form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            created = imports.data_import_create(
                actor=member_of(request),
                data_extension=data_extension,
                source_name=upload.name,
                data=upload,
                mode=form.cleaned_data["mode"],
            )
        except imports.ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            imports.data_import_queue(data_import=created)
            return redirect("engagement_data:import", import_id=created.pk)
    return _detail(request, data_extension, import_form=form)


def _import_or_404(request: HttpRequest, import_id: int) -> DataImport:
    found = selectors.data_import_get_for_actor(actor=member_of(request), import_id=import_id)
    if found is None:
        raise Http404("No such import.")
    return found


@account_member_required
def import_detail(request: HttpRequest, import_id: int) -> HttpResponse:
    """An import's progress (refreshing while it runs) and its result."""
    found = _import_or_404(request, import_id)
    errors = found.errors.order_by("line", "id")[:20]
    return render(request, "engagement/data/import.html", {"import": found, "errors": errors})


@account_member_required
def import_errors(request: HttpRequest, import_id: int) -> StreamingHttpResponse:
    """The error report of an import, as CSV."""
    found = _import_or_404(request, import_id)
    return _csv_response(
        imports.data_import_error_report(data_import=found), f"import-{found.pk}-errors.csv"
    )


@account_member_required
def export(request: HttpRequest, data_extension_id: int) -> StreamingHttpResponse:
    """Every row of the data extension as CSV (UTF-8, header row first)."""
    data_extension = _data_extension_or_404(request, data_extension_id)
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in data_extension.name)
    return _csv_response(data_extension_export(data_extension=data_extension), f"{safe}.csv")
