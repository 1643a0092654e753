"""Errors raised by the connected app services."""

from __future__ import annotations


class ConnectedAppInvalidError(ValueError):
    """Input refused; `errors` maps each field to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))
        self.errors = errors
