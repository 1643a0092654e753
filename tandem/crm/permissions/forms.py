"""Permission set forms: the edges parse input; the services validate every rule."""

from __future__ import annotations

from django import forms


class PermissionSetForm(forms.Form):
    label = forms.CharField(label="Label", max_length=200, required=False)
    api_name = forms.CharField(label="API Name", max_length=200, required=False)
    description = forms.CharField(
        label="Description",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    bulk_api_hard_delete = forms.BooleanField(label="Bulk API Hard Delete", required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["label"].widget.attrs.update({"data-api-name-source": "id_api_name"})
        self.fields["api_name"].widget.attrs.update({"data-api-name-target": "true"})

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Show each violation next to its field."""
        for field, messages in errors.items():
            for message in messages:
                self.add_error(field if field in self.fields else None, message)
