"""Record write errors, with Salesforce's status codes."""

from __future__ import annotations


class RecordError(Exception):
    """A write Salesforce would refuse: statusCode, message, fields."""

    def __init__(self, status_code: str, message: str, fields: list[str] | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.fields = fields or []


class RecordNotFoundError(RecordError):
    def __init__(self) -> None:
        super().__init__("NOT_FOUND", "The requested resource does not exist")
