"""Content pages: folders, My Documents, upload, download, rename, delete, CSV preview."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from tandem.engagement.accounts.access import account_member_required, member_of
from tandem.engagement.content import selectors, services
from tandem.engagement.content.forms import FolderForm, RenameForm, UploadForm
from tandem.engagement.content.models import ContentFile, Folder
from tandem.engagement.content.uploads import (
    capped_upload,
    human_size,
    refuse_upload,
    upload_refused_above,
)


def _content_max_bytes() -> int:
    return int(settings.ENGAGEMENT_CONTENT_MAX_BYTES)


def _folder_or_404(request: HttpRequest, folder_id: int) -> Folder:
    folder = selectors.folder_get_for_actor(actor=member_of(request), folder_id=folder_id)
    if folder is None:
        raise Http404("No such folder.")
    return folder


def _file_or_404(request: HttpRequest, file_id: int) -> ContentFile:
    found = selectors.content_file_get_for_actor(actor=member_of(request), file_id=file_id)
    if found is None:
        raise Http404("No such file.")
    return found


def _library(request: HttpRequest, folder: Folder | None, **forms: object) -> HttpResponse:
    user = member_of(request)
    context = {
        "folders": selectors.folder_list(user=user),
        "folder": folder,
        "files": selectors.content_file_list(folder=folder) if folder else [],
        "my_documents_on": user.account is not None and user.account.my_documents_in_content,
        "folder_form": forms.get("folder_form") or FolderForm(),
        "upload_form": forms.get("upload_form") or UploadForm(),
        "max_upload": human_size(_content_max_bytes()),
    }
    return render(request, "engagement/content/library.html", context)


@account_member_required
def library(request: HttpRequest) -> HttpResponse:
    """Content: the folder list; no folder open yet."""
    return _library(request, None)


@account_member_required
def folder_detail(request: HttpRequest, folder_id: int) -> HttpResponse:
    """Content: one folder's files."""
    return _library(request, _folder_or_404(request, folder_id))


@account_member_required
def my_documents(request: HttpRequest) -> HttpResponse:
    """Open the user's My Documents, creating it on first use."""
    user = member_of(request)
    if user.account is None or not user.account.my_documents_in_content:
        messages.error(request, "My Documents in Content is turned off for this account.")
        return redirect("engagement_content:library")
    folder = services.my_documents_get_or_create(user=user)
    return redirect("engagement_content:folder", folder_id=folder.pk)


@require_POST
@account_member_required
def folder_create(request: HttpRequest) -> HttpResponse:
    """Create a shared folder at the top level, or inside ?parent=ID."""
    parent_id = request.GET.get("parent", "")
    parent = _folder_or_404(request, int(parent_id)) if parent_id.isdigit() else None
    form = FolderForm(request.POST)
    if form.is_valid():
        try:
            folder = services.folder_create(
                actor=member_of(request), name=form.cleaned_data["name"], parent=parent
            )
        except services.ContentError as exc:
            form.add_error("name", str(exc))
        else:
            return redirect("engagement_content:folder", folder_id=folder.pk)
    return _library(request, parent, folder_form=form)


@require_POST
@account_member_required
def folder_delete(request: HttpRequest, folder_id: int) -> HttpResponse:
    """Delete an empty folder."""
    folder = _folder_or_404(request, folder_id)
    try:
        services.folder_delete(actor=member_of(request), folder=folder)
    except services.ContentError as exc:
        messages.error(request, str(exc))
        return redirect("engagement_content:folder", folder_id=folder.pk)
    messages.success(request, f"Folder {folder.name} deleted.")
    return redirect("engagement_content:library")


@require_POST
@capped_upload(_content_max_bytes)
@account_member_required
def upload(request: HttpRequest, folder_id: int) -> HttpResponse:
    """Upload a file into a folder; a name already there gets a distinct one."""
    folder = _folder_or_404(request, folder_id)
    form = UploadForm(request.POST, request.FILES)
    refused = upload_refused_above(request)
    if refused is not None:
        refuse_upload(form, "file", f"The file is larger than the {human_size(refused)} limit.")
    elif form.is_valid():
        uploaded = form.cleaned_data["file"]
        try:
            saved = services.content_file_save(
                owner=member_of(request), folder=folder, name=uploaded.name, data=uploaded
            )
        except services.ContentError as exc:
            form.add_error("file", str(exc))
        else:
            messages.success(request, f"Uploaded {saved.name}.")
            return redirect("engagement_content:folder", folder_id=folder.pk)
    return _library(request, folder, upload_form=form)


@account_member_required
def file_detail(request: HttpRequest, file_id: int) -> HttpResponse:
    """One file: details, rename, delete, and a table preview for CSV files."""
    found = _file_or_404(request, file_id)
    return _file_page(request, found, RenameForm(initial={"name": found.name}))


def _file_page(request: HttpRequest, found: ContentFile, form: RenameForm) -> HttpResponse:
    preview = selectors.content_file_csv_preview(content_file=found) if found.is_csv else None
    context = {
        "file": found,
        "rename_form": form,
        "preview": preview,
        "size": human_size(found.size),
    }
    return render(request, "engagement/content/file.html", context)


@account_member_required
def download(request: HttpRequest, file_id: int) -> FileResponse:
    """The file's bytes, as an attachment under its Content name."""
    found = _file_or_404(request, file_id)
    return FileResponse(
        selectors.content_file_open(content_file=found),
        as_attachment=True,
        filename=found.name,
        content_type=found.content_type or "application/octet-stream",
    )


@require_POST
@account_member_required
def rename(request: HttpRequest, file_id: int) -> HttpResponse:
    """Rename a file in place."""
    found = _file_or_404(request, file_id)
    form = RenameForm(request.POST)
    if form.is_valid():
        try:
            services.content_file_rename(
                actor=member_of(request), content_file=found, name=form.cleaned_data["name"]
            )
        except services.ContentError as exc:
            form.add_error("name", str(exc))
        else:
            messages.success(request, f"Renamed to {found.name}.")
            return redirect("engagement_content:file", file_id=found.pk)
    found.refresh_from_db()
    return _file_page(request, found, form)


@require_POST
@account_member_required
def delete(request: HttpRequest, file_id: int) -> HttpResponse:
    """Delete a file and its stored bytes."""
    found = _file_or_404(request, file_id)
    services.content_file_delete(actor=member_of(request), content_file=found)
    messages.success(request, f"Deleted {found.name}.")
    return redirect("engagement_content:folder", folder_id=found.folder_id)
