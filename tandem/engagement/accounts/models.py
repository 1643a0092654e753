"""Accounts, users and roles of the Engagement service."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models

from tandem.core.audit import AuditEventBase


class Account(models.Model):
    """An Engagement account (business unit)."""

    name = models.CharField(max_length=120, unique=True)
    my_documents_in_content = models.BooleanField(
        "My Documents in Content",
        default=True,
        help_text="Keep generated files (such as migration results) in each user's My Documents.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", "Administrator"
    MARKETING_USER = "marketing_user", "Marketing User"


class User(AbstractUser):
    """A person who signs in to the Engagement service, in one account."""

    account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.MARKETING_USER)

    @property
    def is_account_admin(self) -> bool:
        return self.role == Role.ADMINISTRATOR


class AuditEvent(AuditEventBase):
    """One audited change in an Engagement account (append-only)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(AuditEventBase.Meta):
        indexes = [models.Index(fields=["account", "-occurred_at"], name="eng_audit_account_time")]

    def __str__(self) -> str:
        return f"{self.action} {self.target}"
