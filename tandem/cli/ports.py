"""Check that the ports `tandem up` needs are free before anything starts."""

from __future__ import annotations

import errno
import socket

from tandem.cli.errors import CliError


def ensure_free(host: str, port: int, what: str, option: str) -> None:
    """Raise CliError naming the port when something already listens on it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise CliError(
                    f"port {port} on {host} ({what}) is already in use; "
                    f"stop the process using it or choose another port with {option}"
                ) from None
            raise CliError(f"cannot listen on {host}:{port} ({what}): {exc.strerror}") from None


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])
