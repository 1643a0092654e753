"""Forms of the sends pages; choices are limited to the user's account."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.engagement.accounts.models import User
from tandem.engagement.data.models import DataExtension, DataExtensionRow
from tandem.engagement.sends.audiences import crm_audience_clean
from tandem.engagement.sends.errors import SendInvalidError
from tandem.engagement.sends.models import AudienceKind
from tandem.engagement.studio.models import Email

# The input that names each CRM audience (its text becomes Send.audience_ref).
AUDIENCE_INPUTS: dict[str, str] = {
    AudienceKind.REPORT: "report_id",
    AudienceKind.CAMPAIGN: "campaign_id",
    AudienceKind.CONTACT: "contact_ids",
    AudienceKind.LEAD: "lead_ids",
    AudienceKind.SALESFORCE_DATA_EXTENSION: "sfde_name",
    AudienceKind.SYNCHRONIZED_DATA_EXTENSION: "synced_name",
}
AUDIENCE_CHOICES = [
    (AudienceKind.DATA_EXTENSION, "Data Extension"),
    (AudienceKind.REPORT, "Report"),
    (AudienceKind.CAMPAIGN, "Campaign"),
    (AudienceKind.CONTACT, "Contacts"),
    (AudienceKind.LEAD, "Leads"),
    (AudienceKind.SALESFORCE_DATA_EXTENSION, "Salesforce Data Extension"),
    (AudienceKind.SYNCHRONIZED_DATA_EXTENSION, "Synchronized or Filtered Data Extension"),
]
IDS_HELP = "Separated by commas or spaces; 15- or 18-character Ids."


class SendForm(forms.Form):
    """A new send: a name, an email and an audience (a data extension, or one from the CRM)."""

    name = forms.CharField(max_length=200)
    email = forms.ModelChoiceField(queryset=Email.objects.none())
    audience_kind = forms.ChoiceField(
        choices=AUDIENCE_CHOICES,
        required=False,
        initial=AudienceKind.DATA_EXTENSION,
        widget=forms.RadioSelect,
        label="Audience",
    )
    data_extension = forms.ModelChoiceField(
        queryset=DataExtension.objects.none(), label="Data extension", required=False
    )
    report_id = forms.CharField(required=False, max_length=40, label="Report Id")
    campaign_id = forms.CharField(required=False, max_length=40, label="Campaign Id")
    contact_ids = forms.CharField(
        required=False,
        label="Contact Ids",
        help_text=IDS_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    lead_ids = forms.CharField(
        required=False,
        label="Lead Ids",
        help_text=IDS_HELP,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    sfde_name = forms.CharField(
        required=False, max_length=200, label="Salesforce data extension (name)"
    )
    synced_name = forms.CharField(
        required=False, max_length=200, label="Synchronized or filtered data extension (name)"
    )
    max_per_second = forms.IntegerField(
        required=False,
        min_value=1,
        label="At most (messages a second)",
        help_text="Optional: a limit across all workers; empty sends as fast as possible.",
    )

    def __init__(self, *args: Any, actor: User, crm_available: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.account_id = actor.account_id or 0
        self.crm_available = crm_available
        self.fields["email"].queryset = Email.objects.filter(account_id=actor.account_id or 0)  # type: ignore[attr-defined]
        self.fields["data_extension"].queryset = DataExtension.objects.filter(  # type: ignore[attr-defined]
            account_id=actor.account_id or 0, is_sendable=True
        )
        if not crm_available:  # the choice stays, so a CRM kind is refused with a reason
            for name in AUDIENCE_INPUTS.values():
                del self.fields[name]

    def clean_audience_kind(self) -> str:
        return self.cleaned_data["audience_kind"] or AudienceKind.DATA_EXTENSION

    def clean(self) -> dict[str, Any]:
        """A CRM audience's reference is checked here, so nothing is saved when it is wrong."""
        data = super().clean() or {}
        kind = data.get("audience_kind")
        data["audience_ref"] = ""
        if kind and kind != AudienceKind.DATA_EXTENSION:
            given = data.get(AUDIENCE_INPUTS.get(kind, ""), "") or ""
            try:
                data["audience_ref"] = crm_audience_clean(
                    account_id=self.account_id, kind=kind, ref=given
                )
            except SendInvalidError as exc:
                self.add_error(self.error_field(exc.field), exc.message)
        return data

    def error_field(self, field: str | None) -> str | None:
        """The field a problem goes beside: a CRM reference's goes beside its own input."""
        if field == "audience_ref":
            name = AUDIENCE_INPUTS.get(self.cleaned_data.get("audience_kind", ""), "")
            return name if name in self.fields else "audience_kind"
        return field if field in self.fields else None


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
