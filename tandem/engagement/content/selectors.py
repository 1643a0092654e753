"""Reads of Content, scoped to what one user may see."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from django.core.files import File
from django.db.models import Q, QuerySet

from tandem.engagement.accounts.models import User
from tandem.engagement.content.models import ContentFile, Folder
from tandem.engagement.content.storage import content_storage

PREVIEW_BYTES = 256 * 1024
PREVIEW_ROWS = 100


def folder_visible_to(*, folder: Folder, user: User) -> bool:
    """Shared folders of the user's account, and the user's own My Documents tree."""
    return folder.account_id == user.account_id and folder.owner_id in (None, user.pk)


def folder_list(*, user: User) -> QuerySet[Folder]:
    """The folders the user sees; personal folders only when the account keeps My Documents."""
    visible = Q(owner__isnull=True)
    if user.account is not None and user.account.my_documents_in_content:
        visible |= Q(owner=user)
    return Folder.objects.filter(visible, account=user.account).order_by("name", "id")


def folder_get_for_actor(*, actor: User, folder_id: int) -> Folder | None:
    """One folder the actor may see, or None."""
    return folder_list(user=actor).filter(pk=folder_id).first()


def content_file_list(*, folder: Folder) -> QuerySet[ContentFile]:
    """The files of one folder, by name."""
    return folder.files.order_by("name", "id")


def content_file_get_for_actor(*, actor: User, file_id: int) -> ContentFile | None:
    """One file in a folder the actor may see, or None."""
    folders = folder_list(user=actor)
    return (
        ContentFile.objects.filter(pk=file_id, folder__in=folders).select_related("folder").first()
    )


@dataclass(frozen=True)
class CsvPreview:
    """The first rows of a CSV file, or why they cannot be shown."""

    header: list[str]
    rows: list[list[str]]
    truncated: bool
    error: str = ""


def content_file_open(*, content_file: ContentFile) -> File[bytes]:
    """The file's bytes, from the storage configured now (not the one at import time)."""
    return content_storage().open(str(content_file.blob.name), "rb")


def content_file_csv_preview(*, content_file: ContentFile) -> CsvPreview:
    """Up to PREVIEW_ROWS rows of a UTF-8 CSV file, read from the first PREVIEW_BYTES."""
    with content_file_open(content_file=content_file) as handle:
        head = handle.read(PREVIEW_BYTES + 1)
    truncated = len(head) > PREVIEW_BYTES
    head = head[:PREVIEW_BYTES]
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if not (truncated and exc.start >= len(head) - 3):
            return CsvPreview([], [], False, f"The file is not UTF-8 (byte {exc.start + 1}).")
        text = head[: exc.start].decode("utf-8-sig")  # a character cut by the preview limit
    if truncated:
        text = text.rsplit("\n", 1)[0]
    try:
        rows = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as exc:
        return CsvPreview([], [], False, f"The file is not valid CSV: {exc}.")
    body = rows[1 : PREVIEW_ROWS + 1]
    return CsvPreview(rows[0] if rows else [], body, truncated or len(rows) > PREVIEW_ROWS + 1)
