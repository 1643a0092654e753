"""Salesforce REST errors: `[{"message": …, "errorCode": …}]` with an HTTP status."""

from __future__ import annotations

import json

from django.http import HttpResponse


class ApiError(Exception):
    """An error the API returns in Salesforce's shape."""

    def __init__(
        self, status: int, error_code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields

    def body(self) -> dict[str, object]:
        body: dict[str, object] = {"message": self.message, "errorCode": self.error_code}
        if self.fields is not None:
            body["fields"] = self.fields
        return body

    def response(self) -> HttpResponse:
        return HttpResponse(
            json.dumps([self.body()]), status=self.status, content_type="application/json"
        )


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND", "The requested resource does not exist")
