"""Forms of the Subscribers (data extensions) pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms

from tandem.engagement.data.models import DataExtensionField, FieldType, ImportMode


class DataExtensionForm(forms.Form):
    name = forms.CharField(max_length=200)
    is_sendable = forms.BooleanField(label="Sendable", required=False)
    subscriber_key_field = forms.CharField(
        label="Subscriber key field", max_length=100, required=False
    )
    email_field = forms.CharField(label="Email field", max_length=100, required=False)


class FieldForm(forms.Form):
    name = forms.CharField(label="Field name", max_length=100, required=False)
    field_type = forms.ChoiceField(label="Type", choices=FieldType.choices, initial=FieldType.TEXT)
    is_primary_key = forms.BooleanField(label="Primary key", required=False)
    is_required = forms.BooleanField(label="Required", required=False)


FieldFormSet = forms.formset_factory(FieldForm, extra=6, max_num=200)


class SendableForm(forms.Form):
    is_sendable = forms.BooleanField(label="Sendable", required=False)
    subscriber_key_field = forms.ChoiceField(label="Subscriber key field", required=False)
    email_field = forms.ChoiceField(label="Email field", required=False)

    def __init__(self, *args: Any, field_names: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "—"), *((name, name) for name in field_names)]
        self.fields["subscriber_key_field"].choices = choices  # type: ignore[attr-defined]
        self.fields["email_field"].choices = choices  # type: ignore[attr-defined]


class RowForm(forms.Form):
    """One text input per field; the service checks the types."""

    def __init__(self, *args: Any, fields: Sequence[DataExtensionField], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in fields:
            label = f"{field.name} ({field.get_field_type_display()})"
            self.fields[field.name] = forms.CharField(
                label=label, required=False, strip=False, max_length=4000
            )


class ImportForm(forms.Form):
    mode = forms.ChoiceField(choices=ImportMode.choices, initial=ImportMode.ADD_AND_UPDATE)
    file = forms.FileField(label="CSV file (UTF-8)")
