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
