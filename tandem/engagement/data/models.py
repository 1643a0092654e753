"""Data extensions: typed tables whose rows can be an audience."""

from __future__ import annotations

from django.db import models

from tandem.engagement.accounts.models import Account


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
