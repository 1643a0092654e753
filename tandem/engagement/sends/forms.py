"""Forms of the sends pages; choices are limited to the user's account."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.studio.models import Email


class SendForm(forms.Form):
    """A new send: a name, an email and a sendable data extension."""

    name = forms.CharField(max_length=200)
    email = forms.ModelChoiceField(queryset=Email.objects.none())
    data_extension = forms.ModelChoiceField(
        queryset=DataExtension.objects.none(), label="Data extension"
    )
    max_per_second = forms.IntegerField(
        required=False,
        min_value=1,
        label="At most (messages a second)",
        help_text="Optional: a limit across all workers; empty sends as fast as possible.",
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].queryset = Email.objects.filter(account_id=actor.account_id or 0)  # type: ignore[attr-defined]
        self.fields["data_extension"].queryset = DataExtension.objects.filter(  # type: ignore[attr-defined]
            account_id=actor.account_id or 0, is_sendable=True
        )


class ScheduleForm(forms.Form):
    """When to start: empty means now."""

    scheduled_at = forms.DateTimeField(
        required=False,
        label="Send at (UTC)",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"],
    )


class TestSendForm(forms.Form):
    """An email and up to five addresses."""

    email = forms.ModelChoiceField(queryset=Email.objects.none())
    addresses = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Up to 5 addresses, separated by commas or new lines.",
    )

    def __init__(self, *args: Any, actor: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["email"].queryset = Email.objects.filter(account_id=actor.account_id or 0)  # type: ignore[attr-defined]


ROW_CHOICES = 50


class SendTestForm(forms.Form):
    """Up to five addresses and the audience row to personalize the test as (first by default)."""

    addresses = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Up to 5 addresses, separated by commas or new lines.",
    )
    row = forms.ChoiceField(label="Personalize as", required=False)

    def __init__(self, *args: Any, data_extension: DataExtension | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        rows = DataExtensionRow.objects.none()
        if data_extension is not None:
            rows = DataExtensionRow.objects.filter(data_extension=data_extension).order_by("id")
        email_field = data_extension.email_field if data_extension else ""
        choices = [
            (row.key, f"{row.key} <{row.values.get(email_field, '')}>" if email_field else row.key)
            for row in rows[:ROW_CHOICES]
        ]
        self.fields["row"].choices = choices  # type: ignore[attr-defined]
        if choices:
            self.fields["row"].initial = choices[0][0]
