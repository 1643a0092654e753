"""Fixtures for tests that run the real processes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import RunningStack, running_stack


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """One `tandem up` shared by the session's end-to-end tests."""
    with running_stack(tmp_path_factory.mktemp("var")) as running:
        yield running


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Warnings are errors, with one named exception here: a ResourceWarning. These tests hold
    real processes' pipes, sockets and log files, which the garbage collector may reclaim
    during a later, unrelated test; the leaks are fixed where found, not failed on at random."""
    for item in items:
        if "tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))
