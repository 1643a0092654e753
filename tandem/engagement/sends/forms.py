"""Forms of the sends pages; choices are limited to the user's account."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension
from tandem.engagement.studio.models import Email


class SendForm(forms.Form):
    """A new send: a name, an email and a sendable data extension."""

    name = forms.CharField(max_length=200)
    email = forms.ModelChoiceField(queryset=Email.objects.none())
    data_extension = forms.ModelChoiceField(
        queryset=DataExtension.objects.none(), label="Data extension"
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
