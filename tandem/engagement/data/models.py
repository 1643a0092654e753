"""Data extensions: typed tables whose rows can be an audience."""

from __future__ import annotations

from django.db import models

from tandem.engagement.accounts.models import Account, User


class FieldType(models.TextChoices):
    TEXT = "Text", "Text"
    NUMBER = "Number", "Number"
    DATE = "Date", "Date"
    BOOLEAN = "Boolean", "Boolean"
    EMAIL_ADDRESS = "EmailAddress", "EmailAddress"
    PHONE = "Phone", "Phone"


class DataExtension(models.Model):
    """A table of an account; sendable when it names a subscriber key and an email field."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="data_extensions")
    name = models.CharField(max_length=200)
    is_sendable = models.BooleanField(default=False)
    subscriber_key_field = models.CharField(max_length=100, blank=True)
    email_field = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="de_unique_name_per_account")
        ]

    def __str__(self) -> str:
        return self.name


class DataExtensionField(models.Model):
    """One typed column of a data extension."""

    data_extension = models.ForeignKey(
        DataExtension, on_delete=models.CASCADE, related_name="fields"
    )
    name = models.CharField(max_length=100)
    field_type = models.CharField(max_length=20, choices=FieldType.choices, default=FieldType.TEXT)
    is_primary_key = models.BooleanField(default=False)
    is_required = models.BooleanField(default=False)
    ordinal = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ("ordinal", "id")
        constraints = [
            models.UniqueConstraint(fields=["data_extension", "name"], name="de_field_unique_name")
        ]

    def __str__(self) -> str:
        return self.name


class DataExtensionRow(models.Model):
    """One row; `key` is the primary-key value(s), `values` maps field name to text."""

    data_extension = models.ForeignKey(DataExtension, on_delete=models.CASCADE, related_name="rows")
    key = models.CharField(max_length=255)
    values = models.JSONField(default=dict)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["data_extension", "key"], name="de_row_unique_key")
        ]

    def __str__(self) -> str:
        return self.key


class ImportMode(models.TextChoices):
    ADD_AND_UPDATE = "add_and_update", "Add and Update"
    ADD_ONLY = "add_only", "Add Only"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class DataImport(models.Model):
    """One CSV file imported into a data extension; counters show its progress."""

    data_extension = models.ForeignKey(
        DataExtension, on_delete=models.CASCADE, related_name="imports"
    )
    created_by = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source_name = models.CharField(max_length=255)
    source_blob = models.CharField(max_length=255, help_text="Storage key of the uploaded file.")
    size = models.BigIntegerField()
    mode = models.CharField(
        max_length=20, choices=ImportMode.choices, default=ImportMode.ADD_AND_UPDATE
    )
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED
    )
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    inserted_rows = models.PositiveIntegerField(default=0)
    updated_rows = models.PositiveIntegerField(default=0)
    error_rows = models.PositiveIntegerField(default=0)
    failure = models.TextField(blank=True, help_text="Why the whole import stopped, if it did.")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.source_name} → {self.data_extension_id}"

    @property
    def is_finished(self) -> bool:
        return self.status in {ImportStatus.DONE, ImportStatus.FAILED}

    @property
    def percent(self) -> int:
        return 100 if not self.total_rows else int(100 * self.processed_rows / self.total_rows)


class DataImportError(models.Model):
    """One rejected row of an import: where, which key, and why."""

    data_import = models.ForeignKey(DataImport, on_delete=models.CASCADE, related_name="errors")
    line = models.PositiveIntegerField(help_text="Line of the file where the row ends.")
    key = models.CharField(max_length=255, blank=True)
    message = models.TextField()
    raw = models.TextField(
        blank=True, help_text="The row as read, cut to a few hundred characters."
    )

    class Meta:
        ordering = ("line", "id")

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"
