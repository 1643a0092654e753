"""Personalization strings (`%%FirstName%%`): compile once, render many times by joining parts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from html import escape

# A name starts with a letter or underscore; inside, letters, digits, `_`, `-`, `.` and single
# spaces (data extension columns may be called "First Name"). Matching is case-insensitive.
_NAME = r"[A-Za-z_](?:[A-Za-z0-9_.\-]| (?=[A-Za-z0-9_.\-]))*"
_TOKEN = re.compile(rf"%%({_NAME})%%")
_DELIMITER = "%%"
MAX_NAME_LENGTH = 100


class PersonalizationError(ValueError):
    """A malformed personalization string; `position` is the 0-based offset in the text."""

    def __init__(self, message: str, *, position: int) -> None:
        super().__init__(message)
        self.position = position


@dataclass(frozen=True, slots=True)
class CompiledTemplate:
    """Literal text and field names, alternating: literals at even indexes, names at odd."""

    parts: tuple[str, ...]
    html: bool

    @property
    def fields(self) -> frozenset[str]:
        """The names used, as written in the template."""
        return frozenset(self.parts[1::2])

    @property
    def is_static(self) -> bool:
        """True when nothing varies per recipient."""
        return len(self.parts) == 1

    def render(self, values: Mapping[str, str]) -> str:
        """Fill in each name from `values` (exact name first, then ignoring case); missing → ""."""
        parts = self.parts
        if len(parts) == 1:
            return parts[0]
        out = list(parts)
        done: dict[str, str] = {}  # each name is looked up and escaped once per render
        for index in range(1, len(parts), 2):
            name = parts[index]
            value = done.get(name)
            if value is None:
                value = done[name] = self.value(name, values)
            out[index] = value
        return "".join(out)

    def value(self, name: str, values: Mapping[str, str]) -> str:
        """What `name` renders as: its value (exact name first, then ignoring case), escaped
        in HTML; "" when missing."""
        value = values.get(name)
        if value is None:
            folded = name.casefold()
            value = next((v for k, v in values.items() if k.casefold() == folded), None)
        text = "" if value is None else str(value)
        return escape(text, quote=True) if self.html else text


def compile_template(text: str, *, html: bool) -> CompiledTemplate:
    """Split `text` into literals and names; raise PersonalizationError when malformed."""
    parts: list[str] = []
    cursor = 0
    while (start := text.find(_DELIMITER, cursor)) != -1:
        match = _TOKEN.match(text, start)
        if match is None:
            raise PersonalizationError(_describe(text, start), position=start)
        name = match.group(1)
        if len(name) > MAX_NAME_LENGTH:
            raise PersonalizationError(
                f"personalization string at position {start} is longer than "
                f"{MAX_NAME_LENGTH} characters",
                position=start,
            )
        parts.extend((text[cursor:start], name))
        cursor = match.end()
    parts.append(text[cursor:])
    return CompiledTemplate(parts=tuple(parts), html=html)


def _describe(text: str, start: int) -> str:
    """Say what is wrong with the `%%` at `start`."""
    end = text.find(_DELIMITER, start + 2)
    if end == -1:
        return f"unclosed personalization string at position {start}: {text[start : start + 30]!r}"
    inner = text[start + 2 : end]
    if not inner:
        return f"empty personalization string %%%% at position {start}"
    return (
        f"invalid personalization string %%{inner}%% at position {start}: a name starts with "
        "a letter and holds only letters, digits, spaces, '_', '-' and '.'"
    )
