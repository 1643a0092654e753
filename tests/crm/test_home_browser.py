"""The CRM home page renders in a real browser with its stylesheet."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_renders_with_styles(page, live_server) -> None:  # type: ignore[no-untyped-def]
    page.goto(live_server.url + "/")

    assert page.get_by_role("heading", name="Tandem CRM").is_visible()
    assert page.evaluate("getComputedStyle(document.body).margin") == "0px"
