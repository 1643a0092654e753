"""Forms of the Admin pages."""

from __future__ import annotations

from django import forms

from tandem.engagement.accounts.models import Role


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
