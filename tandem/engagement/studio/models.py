"""Emails authored in Email Studio."""

from __future__ import annotations

from django.db import models

from tandem.engagement.accounts.models import Account


class Email(models.Model):
    """An email with personalization strings such as %%FirstName%%."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="emails")
    name = models.CharField(max_length=200)
    subject = models.CharField(max_length=998)
    from_name = models.CharField(max_length=200)
    from_address = models.EmailField()
    html_body = models.TextField(blank=True)
    text_body = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="email_unique_name_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.name
