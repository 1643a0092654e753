"""Forms of the Emails pages."""

from __future__ import annotations

from typing import Any

from django import forms

from tandem.engagement.studio.models import Email
from tandem.engagement.studio.personalization import PersonalizationError, compile_template

# The fields whose text may hold personalization strings, and whether it is HTML.
PERSONALIZED_FIELDS = {"subject": False, "html_body": True, "text_body": False}


class EmailForm(forms.ModelForm):
    """Name, subject, from name and address, HTML and text bodies."""

    class Meta:
        model = Email
        fields = ["name", "subject", "from_name", "from_address", "html_body", "text_body"]
        labels = {
            "from_name": "From name",
            "from_address": "From address",
            "html_body": "HTML body",
            "text_body": "Text body",
        }
        widgets = {
            "subject": forms.TextInput(attrs={"size": 80}),
            "html_body": forms.Textarea(attrs={"rows": 14, "cols": 100}),
            "text_body": forms.Textarea(attrs={"rows": 8, "cols": 100}),
        }

    def clean(self) -> dict[str, Any]:
        """Every personalization string must be well formed; say where one is not."""
        cleaned = super().clean() or {}
        for field, html in PERSONALIZED_FIELDS.items():
            try:
                compile_template(cleaned.get(field) or "", html=html)
            except PersonalizationError as exc:
                message = str(exc)
                self.add_error(field, f"{message[:1].upper()}{message[1:]}.")
        if not (cleaned.get("html_body") or cleaned.get("text_body")):
            self.add_error("html_body", "Write an HTML body, a text body, or both.")
        return cleaned


class PreviewForm(forms.Form):
    """Choose the recipient: a data extension and the subscriber key of one of its rows."""

    data_extension = forms.TypedChoiceField(label="Data extension", coerce=int)
    key = forms.CharField(label="Subscriber key", required=False, help_text="Blank: the first row.")

    def __init__(self, *args: Any, choices: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["data_extension"].choices = choices  # type: ignore[attr-defined]
