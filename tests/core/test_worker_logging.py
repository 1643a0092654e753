"""The frequent periodic checks leave no INFO lines in a worker's log; other tasks do, and
the checks' warnings still show. Records go through Celery's own loggers and formats."""

from __future__ import annotations

import logging

import pytest
from celery.app import trace

import config.celery  # noqa: F401  (installs the filter, as a worker does)
from tandem.core.worker_logging import QUIET_TASKS, quiet_periodic_tasks


def _succeeded(name: str, level: int = logging.INFO) -> None:
    context = {
        "id": "1",
        "name": name,
        "return_value": True,
        "runtime": 0.01,
        "args": "()",
        "kwargs": "{}",
    }
    logging.getLogger("celery.app.trace").log(
        level, trace.LOG_SUCCESS, context, extra={"data": context}
    )


def _received(name: str) -> None:
    context = {"id": "2", "name": name, "args": "()", "kwargs": "{}"}
    logging.getLogger("celery.worker.strategy").info(
        trace.LOG_RECEIVED, context, extra={"data": context}
    )


@pytest.mark.parametrize("name", sorted(QUIET_TASKS))
def test_a_periodic_checks_received_and_succeeded_lines_are_left_out(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO):
        _received(name)
        _succeeded(name)
    assert caplog.records == []


def test_other_tasks_are_logged_and_a_checks_warnings_too(
    caplog: pytest.LogCaptureFixture,
) -> None:
    quiet_periodic_tasks()  # a second install adds no second filter
    assert len(logging.getLogger("celery.app.trace").filters) == 1
    with caplog.at_level(logging.INFO):
        _received("engagement.sends.deliver")
        _succeeded("engagement.sends.deliver")
        _succeeded("engagement.connect.results_write_check", logging.WARNING)
    assert [r.getMessage().split("[")[0] for r in caplog.records] == [
        "Task engagement.sends.deliver",
        "Task engagement.sends.deliver",
        "Task engagement.connect.results_write_check",
    ]
    assert "received" in caplog.records[0].getMessage()
