"""Fixtures for tests that run the real processes."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from tests.e2e.stack import RunningStack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One `tandem up` shared by the session's end-to-end tests."""
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def pytest_configure(config: pytest.Config) -> None:
    """Warnings are errors, with one named exception for these tests: a ResourceWarning. They
    hold real processes' pipes, sockets and log files, which the garbage collector may reclaim
    during a later, unrelated test or after the last one; leaks are fixed where found, not
    failed on at random. (This conftest is loaded only by the end-to-end run.)"""
    config.addinivalue_line("filterwarnings", "ignore::ResourceWarning")
    warnings.filterwarnings("ignore", category=ResourceWarning)
