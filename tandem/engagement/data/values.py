"""Check and normalize one cell for a field type; a bad value raises ValueError (the message
is shown to the user)."""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from tandem.engagement.data.models import DataExtensionField, FieldType

TRUE_WORDS = frozenset({"true", "1", "yes", "y"})
FALSE_WORDS = frozenset({"false", "0", "no", "n"})
_PHONE = re.compile(r"^\+?[0-9 ().\-]{4,30}$")
_US_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
# Plain ASCII addresses, a strict subset of what Django's validator accepts: checked here
# without its slower path; anything else goes through Django's validator.
_PLAIN_EMAIL = re.compile(
    r"^[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
MAX_TEXT = 4000
MAX_KEY = 255  # DataExtensionRow.key


def _text(value: str) -> str:
    if len(value) > MAX_TEXT:
        raise ValueError(f"is longer than {MAX_TEXT} characters")
    return value


def _number(value: str) -> str:
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return format(number.normalize(), "f")


def _date(value: str) -> str:
    """YYYY-MM-DD (or an ISO 8601 date-time), or M/D/YYYY."""
    try:
        if len(value) == 10:
            return dt.date.fromisoformat(value).isoformat()
        us_date = _US_DATE.match(value)
        if us_date:
            month, day, year = map(int, us_date.groups())
            return dt.date(year, month, day).isoformat()
        return dt.datetime.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"{value!r} is not a date (use YYYY-MM-DD)") from None


def _boolean(value: str) -> str:
    word = value.casefold()
    if word in TRUE_WORDS:
        return "true"
    if word in FALSE_WORDS:
        return "false"
    raise ValueError(f"{value!r} is not a boolean (use true or false)")


def _email_address(value: str) -> str:
    if len(value) <= 254 and _PLAIN_EMAIL.match(value):
        return value
    try:
        validate_email(value)
    except ValidationError:
        raise ValueError(f"{value!r} is not a valid email address") from None
    return value


def _phone(value: str) -> str:
    if not _PHONE.match(value) or sum(char.isdigit() for char in value) < 4:
        raise ValueError(f"{value!r} is not a phone number")
    return value


NORMALIZERS: dict[str, Callable[[str], str]] = {
    FieldType.TEXT: _text,
    FieldType.NUMBER: _number,
    FieldType.DATE: _date,
    FieldType.BOOLEAN: _boolean,
    FieldType.EMAIL_ADDRESS: _email_address,
    FieldType.PHONE: _phone,
}


def cell_normalize(field: DataExtensionField, raw: str) -> str:
    """The stored form of `raw` for `field`; "" for an empty optional cell."""
    if "\x00" in raw:  # a JSON column on PostgreSQL cannot hold it; it is never meaningful
        raise ValueError("contains a NUL character")
    value = raw.strip() if field.field_type != FieldType.TEXT else raw
    if not value.strip():
        if field.is_primary_key or field.is_required:
            raise ValueError("is required")
        return ""
    return NORMALIZERS[field.field_type](value)


def row_normalize(
    fields: Sequence[DataExtensionField], cells: Mapping[str, str]
) -> tuple[dict[str, str], list[str]]:
    """Normalized values of the given cells and one message per bad cell."""
    values: dict[str, str] = {}
    problems: list[str] = []
    for field in fields:
        if field.name not in cells:
            continue
        try:
            values[field.name] = cell_normalize(field, cells[field.name])
        except ValueError as exc:
            problems.append(f"{field.name}: {exc}")
    return values, problems


def row_key(primary_key: Sequence[str], values: Mapping[str, str]) -> str:
    """The unique key of a row: its primary-key value (a JSON list when composite); a random
    id when the data extension has no primary key. ValueError when it is too long to store."""
    if not primary_key:
        return uuid.uuid4().hex
    if len(primary_key) == 1:
        key = values.get(primary_key[0], "")
    else:
        key = json.dumps([values.get(name, "") for name in primary_key], ensure_ascii=False)
    if len(key) > MAX_KEY:
        raise ValueError(f"the primary key is longer than {MAX_KEY} characters")
    return key
