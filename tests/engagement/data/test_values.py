"""Checking and normalizing one cell per field type."""

from __future__ import annotations

import pytest

from tandem.engagement.data.models import DataExtensionField, FieldType
from tandem.engagement.data.values import cell_normalize, row_key


def field(field_type: str, *, required: bool = False) -> DataExtensionField:
    return DataExtensionField(name="F", field_type=field_type, is_required=required)


@pytest.mark.parametrize(
    ("field_type", "raw", "stored"),
    [
        (FieldType.TEXT, "  keeps spaces ", "  keeps spaces "),
        (FieldType.NUMBER, "42", "42"),
        (FieldType.NUMBER, " 1.50 ", "1.5"),
        (FieldType.NUMBER, "-3e2", "-300"),
        (FieldType.DATE, "2024-02-29", "2024-02-29"),
        (FieldType.DATE, "2/29/2024", "2024-02-29"),
        (FieldType.DATE, "2024-02-29T10:00:00+00:00", "2024-02-29T10:00:00+00:00"),
        (FieldType.BOOLEAN, "TRUE", "true"),
        (FieldType.BOOLEAN, "0", "false"),
        (FieldType.EMAIL_ADDRESS, " ann@example.com ", "ann@example.com"),
        (FieldType.PHONE, "+1 (555) 010-9999", "+1 (555) 010-9999"),
        (FieldType.NUMBER, "", ""),
    ],
)
def test_good_values_are_normalized(field_type: str, raw: str, stored: str) -> None:
    assert cell_normalize(field(field_type), raw) == stored


@pytest.mark.parametrize(
    ("field_type", "raw", "message"),
    [
        (FieldType.NUMBER, "12abc", "not a number"),
        (FieldType.NUMBER, "NaN", "not a number"),
        (FieldType.DATE, "2023-02-29", "not a date"),
        (FieldType.DATE, "yesterday", "not a date"),
        (FieldType.BOOLEAN, "maybe", "not a boolean"),
        (FieldType.EMAIL_ADDRESS, "ann@", "not a valid email address"),
        (FieldType.EMAIL_ADDRESS, "ann example.com", "not a valid email address"),
        (FieldType.PHONE, "call me", "not a phone number"),
        (FieldType.TEXT, "x" * 4001, "longer than"),
    ],
)
def test_bad_values_are_refused_with_a_reason(field_type: str, raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cell_normalize(field(field_type), raw)


def test_required_field_refuses_blank() -> None:
    with pytest.raises(ValueError, match="required"):
        cell_normalize(field(FieldType.TEXT, required=True), "   ")


def test_composite_key_cannot_collide_by_joining() -> None:
    left = row_key(["A", "B"], {"A": "x|y", "B": "z"})
    right = row_key(["A", "B"], {"A": "x", "B": "y|z"})

    assert left != right
