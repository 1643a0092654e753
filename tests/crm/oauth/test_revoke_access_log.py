"""`tandem up`'s access log never prints the query string, where a GET revoke carries its token."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx

from tandem.cli.up import web_argv

SECRET = "00DSECRETTOKEN!AQ"
WSGI_APP = """
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _served_log(tmp_path, path: str) -> str:
    """Run granian as `tandem up` does (a one-line app in place of Django), request `path`,
    and return what it printed."""
    (tmp_path / "tinyapp.py").write_text(WSGI_APP)
    port = _free_port()
    argv = web_argv("127.0.0.1", port, workers=1, threads=1)
    argv[argv.index("config.wsgi:application")] = "tinyapp:app"
    with subprocess.Popen(
        argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as server:
        try:
            _get_when_up(f"http://127.0.0.1:{port}{path}")
            time.sleep(0.3)  # the access line is written after the response
        finally:
            server.terminate()
        output, _ = server.communicate(timeout=10)
    return output


def _get_when_up(url: str) -> None:
    deadline = time.monotonic() + 20
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def test_the_access_format_has_no_query_string():
    argv = web_argv("127.0.0.1", 8001)

    fmt = argv[argv.index("--access-log-fmt") + 1]

    assert "--access-log" in argv
    assert "query_string" not in fmt


def test_a_get_revoke_is_logged_without_its_token(tmp_path):
    output = _served_log(tmp_path, f"/services/oauth2/revoke?token={SECRET}&callback=cb")

    assert '"GET /services/oauth2/revoke HTTP/1.1" 200' in output, output
    assert SECRET not in output
    assert "callback" not in output
