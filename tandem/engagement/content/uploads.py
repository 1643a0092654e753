"""Refuse an upload above a size cap before it is written anywhere."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt, csrf_protect

REFUSED_ATTRIBUTE = "tandem_upload_refused_above"


class SizeCapUploadHandler(FileUploadHandler):
    """Stops parsing as soon as the body or a file exceeds `max_bytes`; marks the request."""

    def __init__(self, request: HttpRequest, max_bytes: int) -> None:
        super().__init__(request)
        self.max_bytes = max_bytes
        self.declared_length = 0

    def handle_raw_input(
        self, input_data: Any, META: Any, content_length: int, boundary: Any, encoding: Any = None
    ) -> None:
        self.declared_length = content_length
        return None

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        if self.declared_length > self.max_bytes:
            self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.max_bytes:
            self._refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _refuse(self) -> None:
        setattr(self.request, REFUSED_ATTRIBUTE, self.max_bytes)
        # Read and discard the rest so the client receives our answer, not a reset.
        raise StopUpload(connection_reset=False)


def upload_refused_above(request: HttpRequest) -> int | None:
    """The cap an upload of this request exceeded, or None."""
    return getattr(request, REFUSED_ATTRIBUTE, None)


def capped_upload(max_bytes: Callable[[], int]) -> Callable[..., Callable[..., HttpResponse]]:
    """Install the size cap before CSRF reads the body (Django's documented pattern)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        protected = csrf_protect(view)

        @wraps(view)
        @csrf_exempt
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            request.upload_handlers.insert(0, SizeCapUploadHandler(request, max_bytes()))
            return protected(request, *args, **kwargs)

        return wrapped

    return decorator


def refuse_upload(form: forms.Form, field: str, message: str) -> None:
    """Show `message` as the only error of `field` (the upload never reached the form)."""
    form.is_valid()
    form.errors[field] = form.error_class([message])


def human_size(size: int) -> str:
    """1536 -> '1.5 KB'."""
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"
