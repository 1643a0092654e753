"""Errors of synchronized data sources."""

from __future__ import annotations


class SyncError(Exception):
    """A setup or run request that cannot be carried out.

    `field` names the form field at fault; `fields` maps a CRM field name to why it cannot be
    copied (shown beside that field)."""

    def __init__(
        self, message: str, field: str | None = None, fields: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.field, self.fields = message, field, fields or {}
