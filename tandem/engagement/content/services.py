"""Writes to Content: folders, My Documents, and files through the configured storage."""

from __future__ import annotations

import mimetypes
import re
import uuid
from pathlib import PurePosixPath

from django.core.files.base import ContentFile as DjangoContentFile
from django.core.files.base import File
from django.db import IntegrityError, transaction

from tandem.engagement.accounts.models import User
from tandem.engagement.content.models import ContentFile, Folder
from tandem.engagement.content.selectors import folder_visible_to
from tandem.engagement.content.storage import content_storage

MY_DOCUMENTS = "My Documents"
MAX_NAME_LENGTH = 200
# A second file of the same name gets "-2", "-3", ... before its extension.
MAX_DISTINCT_NAME_TRIES = 10_000
_FORBIDDEN_IN_NAMES = re.compile(r"[/\\\x00-\x1f\x7f]")


class ContentError(Exception):
    """A Content request that cannot be carried out; the message is for the user."""


def content_name_check(name: str) -> str:
    """The name trimmed, or ContentError if it cannot name a file or folder."""
    name = name.strip()
    if not name or name in {".", ".."}:
        raise ContentError("A name must not be empty.")
    if len(name) > MAX_NAME_LENGTH:
        raise ContentError(f"A name may have at most {MAX_NAME_LENGTH} characters.")
    if _FORBIDDEN_IN_NAMES.search(name):
        raise ContentError("A name must not contain slashes or control characters.")
    return name


def distinct_name(name: str, number: int) -> str:
    """'2026-01-31_migrationsuccess.csv', 2 -> '2026-01-31_migrationsuccess-2.csv'."""
    if number == 1:
        return name
    path = PurePosixPath(name)
    suffix = path.suffix if path.stem else ""
    stem = name[: len(name) - len(suffix)]
    return f"{stem}-{number}{suffix}"


@transaction.atomic
def my_documents_get_or_create(*, user: User) -> Folder:
    """The user's personal My Documents folder, created on first use."""
    if user.account is None:
        raise ContentError("Only members of an account have My Documents.")
    folder, _ = Folder.objects.get_or_create(
        owner=user, defaults={"account": user.account, "name": MY_DOCUMENTS}
    )
    return folder


@transaction.atomic
def folder_create(*, actor: User, name: str, parent: Folder | None = None) -> Folder:
    """A new shared folder (or a subfolder of a folder the actor sees)."""
    name = content_name_check(name)
    if actor.account is None:
        raise ContentError("Only members of an account have Content.")
    if parent is not None and not folder_visible_to(folder=parent, user=actor):
        raise ContentError("That folder does not exist.")
    owner = parent.owner if parent is not None else None
    siblings = Folder.objects.filter(account=actor.account, parent=parent, owner=owner)
    if siblings.filter(name__iexact=name).exists() or (
        parent is None and name.casefold() == MY_DOCUMENTS.casefold()
    ):
        raise ContentError(f"A folder named {name!r} already exists here.")
    return Folder.objects.create(account=actor.account, parent=parent, owner=owner, name=name)


@transaction.atomic
def folder_delete(*, actor: User, folder: Folder) -> None:
    """Delete an empty folder; My Documents stays."""
    if not folder_visible_to(folder=folder, user=actor):
        raise ContentError("That folder does not exist.")
    if folder.is_my_documents and folder.parent_id is None:
        raise ContentError("My Documents cannot be deleted.")
    if folder.files.exists() or folder.children.exists():
        raise ContentError(f"The folder {folder.name!r} is not empty.")
    folder.delete()


def content_file_save(
    *, owner: User, folder: Folder, name: str, data: bytes | File[bytes]
) -> ContentFile:
    """Store `data` as a new file in `folder`; an existing name gets a distinct one, never
    overwritten (a second `2026-01-31_migrationsuccess.csv` becomes `...-2.csv`)."""
    name = content_name_check(name)
    if not folder_visible_to(folder=folder, user=owner):
        raise ContentError("That folder does not exist.")
    blob = _store_blob(folder, name, data)
    try:
        return _record_under_free_name(owner, folder, name, blob)
    except BaseException:
        content_storage().delete(blob)
        raise


def _store_blob(folder: Folder, name: str, data: bytes | File[bytes]) -> str:
    """Write the bytes under a fresh key; the user-visible name lives in the database."""
    upload = DjangoContentFile(data) if isinstance(data, bytes) else data
    key = f"content/{folder.account_id}/{uuid.uuid4().hex}{PurePosixPath(name).suffix.lower()}"
    return content_storage().save(key, upload)


def _record_under_free_name(owner: User, folder: Folder, name: str, blob: str) -> ContentFile:
    taken = {
        existing.casefold()
        for existing in ContentFile.objects.filter(folder=folder).values_list("name", flat=True)
    }
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    size = content_storage().size(blob)
    for number in range(1, MAX_DISTINCT_NAME_TRIES):
        candidate = distinct_name(name, number)
        if candidate.casefold() in taken:
            continue
        try:
            # A concurrent save may take the same name first: then try the next number.
            with transaction.atomic():
                return ContentFile.objects.create(
                    account_id=folder.account_id,
                    folder=folder,
                    name=candidate,
                    blob=blob,
                    size=size,
                    content_type=content_type,
                    created_by=owner,
                )
        except IntegrityError:
            taken.add(candidate.casefold())
    raise ContentError(f"Too many files named like {name!r} in this folder.")


@transaction.atomic
def content_file_rename(*, actor: User, content_file: ContentFile, name: str) -> ContentFile:
    """Rename a file; the new name must be free in its folder."""
    name = content_name_check(name)
    if not folder_visible_to(folder=content_file.folder, user=actor):
        raise ContentError("That file does not exist.")
    clash = ContentFile.objects.filter(folder=content_file.folder, name__iexact=name)
    if clash.exclude(pk=content_file.pk).exists():
        raise ContentError(f"A file named {name!r} already exists in this folder.")
    content_file.name = name
    content_file.content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    content_file.save(update_fields=["name", "content_type", "updated_at"])
    return content_file


@transaction.atomic
def content_file_delete(*, actor: User, content_file: ContentFile) -> None:
    """Delete a file; its bytes leave the storage once the deletion is committed."""
    if not folder_visible_to(folder=content_file.folder, user=actor):
        raise ContentError("That file does not exist.")
    blob = content_file.blob.name
    content_file.delete()
    if blob:
        transaction.on_commit(lambda: content_storage().delete(blob))
