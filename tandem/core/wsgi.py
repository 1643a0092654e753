"""Chunked request bodies for Django, once for every endpoint of a service.

A request sent with `Transfer-Encoding: chunked` has no Content-Length (Node's fetch sends every
streamed body this way: jsforce's token requests, the sf CLI's). The server (granian) removes
the chunk framing, but Django reads `CONTENT_LENGTH` bytes of `wsgi.input`, so it sees an empty
body. `ChunkedBodyMiddleware` reads the de-chunked body first, up to a limit per path, and hands
Django a length-delimited body; anything it cannot accept is refused in the words of the
surface the request was addressed to (`Refuse`).

Malformed chunk framing never reaches the application as an error: granian ends the body where
the framing breaks, so the surface's own parser sees a short body and refuses it.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
# (path, HTTP status, message) → (HTTP status, Content-Type, body) in the dialect of the path's
# surface, which may answer with a status of its own (OAuth errors are always 400).
Refuse = Callable[[str, int, str], tuple[int, str, bytes]]

READ_SIZE = 64 * 1024
IN_MEMORY_BYTES = 1024 * 1024  # larger bodies are spooled to a temporary file
REASONS = {400: "Bad Request", 413: "Request Entity Too Large"}


def plain_refusal(path: str, status: int, message: str) -> tuple[int, str, bytes]:
    """A plain-text refusal, for surfaces without an error dialect of their own."""
    return status, "text/plain; charset=utf-8", f"{message}\n".encode()


class ChunkedBodyMiddleware:
    """Give Django the body of a chunked request, with its length (WSGI middleware)."""

    def __init__(self, app: WsgiApp, *, max_bytes: Callable[[str], int], refuse: Refuse) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.refuse = refuse

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        coding = environ.get("HTTP_TRANSFER_ENCODING")
        if coding is None or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        path = str(environ.get("PATH_INFO", ""))
        if [part.strip().lower() for part in coding.split(",")] != ["chunked"]:
            return self._refused(path, 400, "unsupported transfer coding", start_response)
        limit = self.max_bytes(path)
        body, size = _read_at_most(environ["wsgi.input"], limit)
        if body is None:
            return self._refused(path, 413, "request body too large", start_response)
        environ["wsgi.input"] = body
        environ["CONTENT_LENGTH"] = str(size)
        del environ["HTTP_TRANSFER_ENCODING"]  # the body is now delimited by its length
        try:
            return ClosingBody(self.app(environ, start_response), body)
        except BaseException:
            body.close()
            raise

    def _refused(
        self, path: str, status: int, message: str, start_response: Callable[..., Any]
    ) -> list[bytes]:
        status, content_type, body = self.refuse(path, status, message)
        start_response(
            f"{status} {REASONS[status]}",
            [
                ("Content-Type", content_type),
                ("Content-Length", str(len(body))),
                ("Connection", "close"),
            ],
        )
        return [body]


class ClosingBody:
    """The application's response; when the server closes it (PEP 3333), the spooled request
    body is closed too, so a body that went to disk leaves no open file behind."""

    def __init__(self, response: Iterable[bytes], body: IO[bytes]) -> None:
        self.response, self.body = response, body

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        try:
            if hasattr(self.response, "close"):
                self.response.close()
        finally:
            self.body.close()


def _read_at_most(stream: Any, limit: int) -> tuple[IO[bytes] | None, int]:
    """The whole body, rewound, and its size; (None, size) once it passes `limit` bytes."""
    spooled: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=IN_MEMORY_BYTES)  # noqa: SIM115
    size = 0
    while chunk := stream.read(min(READ_SIZE, limit + 1 - size)):
        size += len(chunk)
        if size > limit:
            spooled.close()
            return None, size
        spooled.write(chunk)
    spooled.seek(0)
    return spooled, size
