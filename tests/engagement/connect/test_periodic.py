"""Periodic Connect tasks: each worker start begins one chain and retires the others."""

from __future__ import annotations

from typing import Any

import pytest

from tandem.engagement.connect import tasks
from tandem.engagement.connect.periodic import chain_begin, chain_is_live

pytestmark = pytest.mark.django_db


@pytest.fixture
def runs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Which periodic bodies ran (the sweep and the write-back themselves are tested apart)."""
    seen: list[str] = []
    monkeypatch.setattr(tasks, "auto_connect_sweep", lambda: seen.append("sweep"))
    monkeypatch.setattr(tasks, "tracking_catch_up_all", lambda: seen.append("tracking"))
    monkeypatch.setattr(tasks, "recent_results_write", lambda: seen.append("results"))
    return seen


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """What would have gone to the broker."""
    sent: list[tuple[str, dict[str, Any]]] = []
    for task in (
        tasks.auto_connect_sweep_task,
        tasks.tracking_writeback_task,
        tasks.held_resume_check_task,
        tasks.results_write_check_task,
    ):
        monkeypatch.setattr(
            task,
            "apply_async",
            lambda kwargs, countdown, name=task.name: sent.append((name, kwargs)),
        )
    return sent


def test_a_run_of_a_retired_chain_does_nothing(runs: list[str]) -> None:
    old = chain_begin(tasks.SWEEP)
    new = chain_begin(tasks.SWEEP)

    assert tasks.auto_connect_sweep_task(again=False, chain=old) is False
    assert runs == []
    assert tasks.auto_connect_sweep_task(again=False, chain=new) is True
    assert runs == ["sweep"]


def test_two_worker_starts_leave_one_live_chain_per_task(
    runs: list[str], enqueued: list[tuple[str, dict[str, Any]]]
) -> None:
    tasks.periodic_chains_begin()
    tasks.periodic_chains_begin()

    for task, chain in (
        (tasks.auto_connect_sweep_task, tasks.SWEEP),
        (tasks.tracking_writeback_task, tasks.TRACKING),
        (tasks.held_resume_check_task, tasks.RESUME),
        (tasks.results_write_check_task, tasks.RESULTS),
    ):
        first, second = [kwargs["chain"] for name, kwargs in enqueued if name == task.name]
        assert not chain_is_live(chain, first)
        assert chain_is_live(chain, second)
        assert task(again=False, chain=first) is False
    assert runs == []


def test_a_run_started_by_hand_always_runs(runs: list[str]) -> None:
    chain_begin(tasks.TRACKING)

    assert tasks.tracking_writeback_task(again=False) is True
    assert runs == ["tracking"]
