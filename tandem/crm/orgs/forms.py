"""Org settings forms."""

from __future__ import annotations

from django import forms

TIMEOUT_CHOICES = [
    (15, "15 minutes"),
    (30, "30 minutes"),
    (60, "1 hour"),
    (120, "2 hours"),
    (240, "4 hours"),
    (480, "8 hours"),
    (720, "12 hours"),
    (1440, "24 hours"),
]


class SessionSettingsForm(forms.Form):
    session_timeout_minutes = forms.TypedChoiceField(
        label="Timeout value", choices=TIMEOUT_CHOICES, coerce=int
    )
    enforce_ip_ranges_every_request = forms.BooleanField(
        label="Enforce login IP ranges on every request", required=False
    )


class OAuthSettingsForm(forms.Form):
    allow_username_password_flows = forms.BooleanField(
        label="Allow OAuth Username-Password Flows", required=False
    )
