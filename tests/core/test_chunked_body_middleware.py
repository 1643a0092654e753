"""ChunkedBodyMiddleware: a chunked body reaches the application with its length; a body over
the limit or in an unknown transfer coding is refused in the surface's words."""

from __future__ import annotations

import io
from typing import Any

from tandem.core.wsgi import ChunkedBodyMiddleware


def _echo(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    start_response("200 OK", [("X-Length", str(length))])
    return [body]


def _refuse(path: str, status: int, message: str) -> tuple[int, str, bytes]:
    return status, "text/test", f"{path}|{status}|{message}".encode()


def _call(environ: dict[str, Any], limit: int = 10) -> tuple[str, dict[str, str], bytes]:
    seen: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"], seen["headers"] = status, dict(headers)

    app = ChunkedBodyMiddleware(_echo, max_bytes=lambda path: limit, refuse=_refuse)
    response = app(environ, start_response)
    try:
        body = b"".join(response)
    finally:
        if hasattr(response, "close"):
            response.close()  # as a WSGI server does once the response is sent
    return seen["status"], seen["headers"], body


def _environ(body: bytes, **extra: str) -> dict[str, Any]:
    return {"PATH_INFO": "/services/x", "wsgi.input": io.BytesIO(body), **extra}


def test_a_chunked_body_reaches_the_application_with_its_length() -> None:
    status, headers, body = _call(_environ(b"a=1&b=2", HTTP_TRANSFER_ENCODING="chunked"))

    assert status == "200 OK"
    assert headers["X-Length"] == "7"
    assert body == b"a=1&b=2"


def test_the_spooled_body_is_closed_with_the_response() -> None:
    environ = _environ(b"a=1", HTTP_TRANSFER_ENCODING="chunked")

    _call(environ)

    assert environ["wsgi.input"].closed


def test_a_body_of_exactly_the_limit_is_accepted() -> None:
    status, _headers, body = _call(_environ(b"0123456789", HTTP_TRANSFER_ENCODING="Chunked"))

    assert (status, body) == ("200 OK", b"0123456789")


def test_a_chunked_body_over_the_limit_is_refused_by_the_surface() -> None:
    status, headers, body = _call(_environ(b"0123456789X", HTTP_TRANSFER_ENCODING="chunked"))

    assert status == "413 Request Entity Too Large"
    assert headers["Content-Type"] == "text/test"
    assert body == b"/services/x|413|request body too large"


def test_a_transfer_coding_other_than_chunked_is_refused() -> None:
    status, _headers, body = _call(_environ(b"abc", HTTP_TRANSFER_ENCODING="gzip, chunked"))

    assert status == "400 Bad Request"
    assert body == b"/services/x|400|unsupported transfer coding"


def test_a_request_with_a_content_length_is_left_alone() -> None:
    status, headers, body = _call(_environ(b"0123456789ABC", CONTENT_LENGTH="13"))

    assert (status, headers["X-Length"], body) == ("200 OK", "13", b"0123456789ABC")
