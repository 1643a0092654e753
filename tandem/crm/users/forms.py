"""Login and Setup forms for users and profiles."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db.models import QuerySet

from tandem.crm.users.models import WEEKDAYS, Profile

HOUR_CHOICES = [("", "--None--")] + [(str(h * 60), f"{h:02d}:00") for h in range(25)]


class LoginForm(forms.Form):
    username = forms.CharField(label="Username", max_length=200)
    password = forms.CharField(label="Password", max_length=500, widget=forms.PasswordInput)


class ServiceErrorsMixin:
    """Show each service error next to its field."""

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for field, messages in errors.items():
            for message in messages:
                target = field if field in self.fields else None  # type: ignore[attr-defined]
                self.add_error(target, message)  # type: ignore[attr-defined]


class UserNewForm(ServiceErrorsMixin, forms.Form):
    first_name = forms.CharField(label="First Name", max_length=40, required=False)
    last_name = forms.CharField(label="Last Name", max_length=80)
    email = forms.CharField(label="Email", max_length=254)
    username = forms.CharField(label="Username", max_length=80)
    profile = forms.ModelChoiceField(label="Profile", queryset=Profile.objects.none())
    password = forms.CharField(
        label="Password",
        required=False,
        max_length=200,
        widget=forms.PasswordInput,
        help_text="Leave empty to generate one (shown once).",
    )
    is_marketing_user = forms.BooleanField(label="Marketing User", required=False)
    is_api_enabled = forms.BooleanField(label="API Enabled", required=False, initial=True)

    def __init__(self, *args: Any, profiles: QuerySet[Profile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profile"].queryset = profiles  # type: ignore[attr-defined]


class UserEditForm(ServiceErrorsMixin, forms.Form):
    profile = forms.ModelChoiceField(label="Profile", queryset=Profile.objects.none())
    is_active = forms.BooleanField(label="Active", required=False)
    is_frozen = forms.BooleanField(label="Frozen", required=False)
    is_api_enabled = forms.BooleanField(label="API Enabled", required=False)
    is_marketing_user = forms.BooleanField(label="Marketing User", required=False)

    def __init__(self, *args: Any, profiles: QuerySet[Profile], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["profile"].queryset = profiles  # type: ignore[attr-defined]


class IpRangeForm(ServiceErrorsMixin, forms.Form):
    start_address = forms.CharField(label="Start IP Address", max_length=45)
    end_address = forms.CharField(label="End IP Address", max_length=45)
    description = forms.CharField(label="Description", max_length=255, required=False)


class LoginHoursForm(forms.Form):
    """Start and end per weekday; both empty means no restriction that day."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.day_errors: dict[int, list[str]] = {}
        for index, day in enumerate(WEEKDAYS):
            for part in ("Start", "End"):
                self.fields[f"{part.lower()}_{index}"] = forms.ChoiceField(
                    label=f"{day} {part}",
                    choices=HOUR_CHOICES,
                    required=False,
                    widget=forms.Select(attrs={"aria-label": f"{day} {part}"}),
                )

    def day_rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField, list[str]]]:
        rows = []
        for i, day in enumerate(WEEKDAYS):
            start, end = self[f"start_{i}"], self[f"end_{i}"]
            errors = [*start.errors, *end.errors, *self.day_errors.get(i, [])]
            rows.append((day, start, end, errors))
        return rows

    def hours(self) -> dict[int, tuple[int, int] | None]:
        """weekday → (start, end), None when both are empty; a lone value is a day error."""
        result: dict[int, tuple[int, int] | None] = {}
        for i in range(len(WEEKDAYS)):
            start, end = self.cleaned_data[f"start_{i}"], self.cleaned_data[f"end_{i}"]
            if not start and not end:
                result[i] = None
            elif not start or not end:
                self.day_errors.setdefault(i, []).append("Choose both a start and an end.")
            else:
                result[i] = (int(start), int(end))
        return result

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        for key, messages in errors.items():
            day = int(key.removeprefix("day_")) if key.startswith("day_") else -1
            self.day_errors.setdefault(day, []).extend(messages)
