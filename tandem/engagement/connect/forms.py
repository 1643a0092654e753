"""Forms of the Salesforce Integration pages."""

from __future__ import annotations

from django import forms

from tandem.engagement.studio.models import Email


class LegacyConnectForm(forms.Form):
    login_url = forms.URLField(label="CRM login URL", assume_scheme="https")
    username = forms.CharField(label="System user's username", max_length=255)
    password = forms.CharField(label="Password", widget=forms.PasswordInput, max_length=255)
    security_token = forms.CharField(
        label="Security token", widget=forms.PasswordInput, max_length=64, required=False
    )


class UserMapForm(forms.Form):
    user = forms.ChoiceField(label="Engagement user")
    crm_username = forms.CharField(label="CRM username", max_length=255)
    password = forms.CharField(
        label="CRM password", widget=forms.PasswordInput, max_length=255, required=False
    )
    security_token = forms.CharField(
        label="Security token", widget=forms.PasswordInput, max_length=64, required=False
    )

    def __init__(
        self, *args: object, users: list[tuple[str, str]], legacy: bool = True, **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["user"].choices = users  # type: ignore[attr-defined]
        if not legacy:  # Connected App: the user is reached by JWT bearer, no CRM password kept
            del self.fields["password"]
            del self.fields["security_token"]


class AcknowledgeForm(forms.Form):
    acknowledged = forms.BooleanField(
        label="I understand what changes, and that Connect is unavailable during the upgrade."
    )
    log_in_again = forms.BooleanField(
        label="Log in again to the CRM (ignore a CRM session this browser already has)",
        required=False,
        initial=True,
    )


class CompleteForm(forms.Form):
    migrate_users = forms.BooleanField(label="Migrate Existing Users", required=False, initial=True)
    erase_legacy_now = forms.BooleanField(
        label="Erase the legacy CRM passwords now (no rollback possible)", required=False
    )


class OutageForm(forms.Form):
    starts_at = forms.DateTimeField(
        label="Start (UTC)", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    duration = forms.FloatField(label="Duration (hours)", initial=2, min_value=0.1, max_value=72)


class OptionsForm(forms.Form):
    hold_crm_sends = forms.BooleanField(
        label="Hold CRM-audience sends during an outage and resume them afterwards",
        required=False,
    )


class TestEmailForm(forms.Form):
    email = forms.ModelChoiceField(label="Email", queryset=Email.objects.none())

    def __init__(self, *args: object, account_id: int, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["email"].queryset = Email.objects.filter(account_id=account_id)  # type: ignore[attr-defined]
