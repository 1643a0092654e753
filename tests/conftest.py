"""Fixtures shared by every suite: a real Chromium driven by Playwright."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an event loop in the test thread; the test's own database
# access (pytest-django's live_server) is still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(os.environ.get("TANDEM_VAR_DIR", "var")) / "screenshots"


def chromium_path() -> str:
    """Debian's Chromium; Playwright's own browser download does not work here."""
    found = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(found).exists():
        pytest.fail("Debian's chromium is not installed (make test installs it with apt-get)")
    return found


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium for the session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> object:
    """Remember each phase's outcome on the item, so fixtures can screenshot failures."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: object, request: pytest.FixtureRequest) -> Iterator[object]:
    """A fresh browser context and page; a screenshot is saved when the test fails."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})  # type: ignore[attr-defined]
    context.set_default_timeout(10_000)
    current = context.new_page()
    yield current
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
        current.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def key_rings(settings: Any, tmp_path: Path) -> Iterator[Path]:
    """Key rings generated afresh under a temporary var/ (and forgotten afterwards)."""
    from tandem.core.keys import refresh_all

    settings.VAR_DIR = tmp_path
    refresh_all()
    yield tmp_path
    refresh_all()


@pytest.fixture(autouse=True)
def fresh_cache_namespace() -> Iterator[None]:
    """Throttle counts live in the shared cache: each test counts from zero in a namespace of
    its own (without touching the database, which a test may not be allowed to use)."""
    import uuid

    from django.core.cache import caches

    cache = caches["default"]
    before = cache.key_prefix
    cache.key_prefix = f"test-{uuid.uuid4().hex}"
    yield
    cache.key_prefix = before
