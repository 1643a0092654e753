"""Errors raised by the orgs services."""

from __future__ import annotations


class OrgInvalidError(ValueError):
    """Input refused; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
