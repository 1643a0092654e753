"""Salesforce-shaped query errors."""

from __future__ import annotations


class SoqlError(Exception):
    """A query Salesforce would reject, with its errorCode and message."""

    def __init__(self, error_code: str, message: str) -> None:
        super().__init__(message)
        self.error_code = error_code
        self.message = message


def located(query: str, line: int, column: int, text: str) -> str:
    """Salesforce's message layout: the offending line, a caret, the position, the reason."""
    lines = query.splitlines() or [""]
    source = lines[line - 1] if 0 < line <= len(lines) else lines[-1]
    return f"\n{source}\n{' ' * max(column - 1, 0)}^\nERROR at Row:{line}:Column:{column}\n{text}"
