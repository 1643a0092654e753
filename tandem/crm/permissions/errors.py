"""Errors raised by the permission set services."""

from __future__ import annotations


class PermissionSetInvalidError(ValueError):
    """Input refused; `errors` maps each field (label, api_name, …) to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
