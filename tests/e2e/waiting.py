"""The one way the end-to-end tests wait for a real process: poll until a condition holds."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T],
    timeout: float = 60,
    interval: float = 0.5,
    what: str | Callable[[], str] = "the condition",
) -> T:
    """Call `condition` every `interval` seconds until it returns something true, and return
    that; after `timeout` seconds fail the test, saying what it waited for (`what` may be a
    function, to describe the state at the moment it gave up, e.g. a log's tail)."""
    deadline = time.monotonic() + timeout
    while True:
        if value := condition():
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what() if callable(what) else what}")
        time.sleep(interval)
