"""Writes and previews of emails."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, transaction

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.studio.models import Email
from tandem.engagement.studio.personalization import compile_template

EMAIL_FIELDS = ("name", "subject", "from_name", "from_address", "html_body", "text_body")


class EmailError(Exception):
    """An email request that cannot be carried out; `field` says which input is wrong."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def _account_of(actor: User) -> Any:
    if actor.account is None:
        raise EmailError("Only members of an account write emails.")
    return actor.account


def email_create(*, actor: User, **values: str) -> Email:
    """A new email of the actor's account (the form has checked its strings)."""
    email = Email(account=_account_of(actor), **{key: values[key] for key in EMAIL_FIELDS})
    return _save(email)


def email_update(*, actor: User, email: Email, **values: str) -> Email:
    """Change an email of the actor's account."""
    if email.account_id != _account_of(actor).pk:
        raise EmailError("That email does not exist.")
    for key in EMAIL_FIELDS:
        setattr(email, key, values[key])
    return _save(email)


def _save(email: Email) -> Email:
    try:
        with transaction.atomic():
            email.save()
    except IntegrityError as exc:
        raise EmailError(f"An email named {email.name!r} already exists.", field="name") from exc
    return email


@dataclass(frozen=True)
class EmailPreview:
    """An email as one recipient would receive it."""

    subject: str
    html_body: str
    text_body: str
    values: dict[str, str]


def recipient_values(*, data_extension: DataExtension, row: DataExtensionRow) -> dict[str, str]:
    """A row's columns, plus `emailaddr` and `_subscriberkey` when the extension is sendable."""
    values = {str(name): str(value) for name, value in row.values.items()}
    if data_extension.email_field:
        values.setdefault("emailaddr", values.get(data_extension.email_field, ""))
    if data_extension.subscriber_key_field:
        values.setdefault("_subscriberkey", values.get(data_extension.subscriber_key_field, ""))
    return values


def email_preview(
    *, email: Email, data_extension: DataExtension, row: DataExtensionRow
) -> EmailPreview:
    """Render subject and bodies for one row; values are HTML-escaped in the HTML body."""
    values = recipient_values(data_extension=data_extension, row=row)
    return EmailPreview(
        subject=compile_template(email.subject, html=False).render(values),
        html_body=compile_template(email.html_body, html=True).render(values),
        text_body=compile_template(email.text_body, html=False).render(values),
        values=values,
    )
