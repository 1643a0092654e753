"""The compatibility table of docs/clients.md is written from the recorded run (no stack)."""

from __future__ import annotations

import pytest

from tests.e2e.clients.table import END, START, render, rewrite

RUN = {
    "SQLite": {
        "sf": {
            "`sf org display`": {"passed": True, "line": 30},
            "`sf org login jwt`": {"passed": False, "line": 10},
        },
        "jsforce": {"Limits": {"passed": True, "line": 5}},
    },
    "PostgreSQL": {"sf": {"`sf org login jwt`": {"passed": True, "line": 10}}},
}


def test_one_row_per_operation_in_test_order_one_column_per_database() -> None:
    assert render(RUN).splitlines() == [
        "| Client | Operation | SQLite | PostgreSQL |",
        "|---|---|---|---|",
        "| jsforce | Limits | works | not run |",
        "| sf | `sf org login jwt` | **fails** | works |",
        "| sf | `sf org display` | works | not run |",
    ]


def test_rewrite_replaces_only_what_lies_between_the_markers() -> None:
    doc = f"intro\n{START}\nold table\n{END}\nafter\n"

    assert rewrite(doc, "new table") == f"intro\n{START}\nnew table\n{END}\nafter\n"


def test_a_doc_without_the_markers_is_refused() -> None:
    with pytest.raises(SystemExit, match="markers"):
        rewrite("no markers here\n", "table")
