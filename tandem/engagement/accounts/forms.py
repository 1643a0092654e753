"""Forms of the Admin pages."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm

from tandem.core.net import client_ip
from tandem.engagement.accounts.login_throttle import (
    login_failure_note,
    login_refusal,
    login_success_note,
)
from tandem.engagement.accounts.models import Role


class ThrottledLoginForm(AuthenticationForm):
    """Django's login form, refused before the password check once the address or the
    username has used up its failed attempts; each failure is counted."""

    throttled = False

    def clean(self) -> dict[str, Any]:
        assert self.request is not None
        ip, username = client_ip(self.request), str(self.data.get("username") or "")
        refusal = login_refusal(ip=ip, username=username)
        if refusal:
            self.throttled = True
            raise forms.ValidationError(refusal, code="throttled")
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            login_failure_note(ip=ip, username=username)
            raise
        login_success_note(username=username)
        return cleaned


class AccountSettingsForm(forms.Form):
    my_documents_in_content = forms.BooleanField(
        label="My Documents in Content",
        required=False,
        help_text="Keep generated files (such as migration results) in each user's My Documents.",
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(max_length=150)
    email = forms.EmailField(required=False)
    password = forms.CharField(widget=forms.PasswordInput, strip=False)
    role = forms.ChoiceField(choices=Role.choices, initial=Role.MARKETING_USER)


class UserRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)
