"""Connected app forms: the edges parse input; the services validate every rule."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.crm.connectedapps.models import OAUTH_SCOPES
from tandem.crm.oauth.policy import (
    IP_RELAXATION_LABELS,
    PERMITTED_USERS_LABELS,
    REFRESH_POLICY_LABELS,
    ValidityUnit,
)

SCOPE_CHOICES = [(name, label) for name, label in OAUTH_SCOPES.items()]


class ServiceErrorsMixin:
    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Show each violation next to its field."""
        form: Any = self
        for field, messages in errors.items():
            for message in messages:
                form.add_error(field if field in form.fields else None, message)


class ConnectedAppForm(ServiceErrorsMixin, forms.Form):
    name = forms.CharField(label="Connected App Name", max_length=200, required=False)
    contact_email = forms.CharField(label="Contact Email", max_length=300, required=False)
    callback_urls = forms.CharField(
        label="Callback URL",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line; the redirect_uri must match one of them exactly.",
    )
    oauth_scopes = forms.MultipleChoiceField(
        label="Selected OAuth Scopes",
        choices=SCOPE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    pkce_required = forms.BooleanField(
        label="Require Proof Key for Code Exchange (PKCE) Extension for Supported Authorization "
        "Flows",
        required=False,
        initial=True,
    )
    refresh_token_rotation_enabled = forms.BooleanField(
        label="Enable Refresh Token Rotation",
        required=False,
        initial=False,
        help_text="Each refresh returns a new refresh token and ends the one presented; "
        "otherwise the refresh token stays valid and no new one is returned.",
    )
    certificate = forms.CharField(
        label="Use digital signatures (certificate, PEM)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="The certificate whose key signs JWT bearer assertions.",
    )

    def callback_list(self) -> list[str]:
        return [
            line.strip() for line in self.cleaned_data["callback_urls"].splitlines() if line.strip()
        ]


class PolicyForm(ServiceErrorsMixin, forms.Form):
    permitted_users = forms.ChoiceField(
        label="Permitted Users",
        choices=list(PERMITTED_USERS_LABELS.items()),
        widget=forms.RadioSelect,
    )
    ip_relaxation = forms.ChoiceField(
        label="IP Relaxation", choices=list(IP_RELAXATION_LABELS.items()), widget=forms.RadioSelect
    )
    refresh_token_policy = forms.ChoiceField(
        label="Refresh Token Policy",
        choices=list(REFRESH_POLICY_LABELS.items()),
        widget=forms.RadioSelect,
    )
    refresh_token_validity = forms.IntegerField(
        label="N", required=False, min_value=0, max_value=100000
    )
    refresh_token_unit = forms.ChoiceField(
        label="Unit", choices=[(u.value, u.value.title()) for u in ValidityUnit], required=False
    )
    session_timeout_minutes = forms.IntegerField(
        label="Timeout Value (minutes)",
        required=False,
        min_value=0,
        max_value=100000,
        help_text="Empty: the deployment's default session length.",
    )


class IpRangeForm(ServiceErrorsMixin, forms.Form):
    """Trusted IP Range for OAuth Web Server Flow: IPv4 or IPv6, checked by the service."""

    start_address = forms.CharField(label="Start IP Address", max_length=45)
    end_address = forms.CharField(label="End IP Address", max_length=45)
    description = forms.CharField(label="Description", max_length=255, required=False)
