"""Folders and files of an account's Content library."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from tandem.engagement.accounts.models import Account, User
from tandem.engagement.content.storage import content_storage


class Folder(models.Model):
    """A folder; shared by the account, or one user's personal My Documents."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children"
    )
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(
        User,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="Set only for a personal My Documents folder.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "parent", "name"], name="content_folder_unique_name"
            ),
            models.UniqueConstraint(
                fields=["account", "name"],
                condition=Q(parent__isnull=True, owner__isnull=True),
                name="content_top_folder_unique_name",
            ),
            models.UniqueConstraint(
                fields=["owner"], condition=Q(owner__isnull=False), name="content_one_my_documents"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_my_documents(self) -> bool:
        return self.owner_id is not None


class ContentFile(models.Model):
    """A stored file; `name` is what users see, `blob` where the storage keeps the bytes."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="content_files")
    folder = models.ForeignKey(Folder, on_delete=models.PROTECT, related_name="files")
    name = models.CharField(max_length=255)
    blob = models.FileField(storage=content_storage, max_length=255)
    size = models.BigIntegerField()
    content_type = models.CharField(max_length=120, blank=True)
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("name", "id")
        constraints = [
            models.UniqueConstraint(fields=["folder", "name"], name="content_file_unique_name")
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_csv(self) -> bool:
        return self.name.lower().endswith(".csv")
