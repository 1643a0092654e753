"""A stacked bar chart of calls per day, as coordinates an inline SVG template draws."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from tandem.crm.api.metering import UsageRow

WIDTH, HEIGHT, LEFT, BOTTOM, TOP = 640, 240, 48, 28, 12
PALETTE = ("#1b6ec2", "#e07b00", "#2e8b57", "#b03a8f", "#6a5acd", "#8b4513", "#20808f", "#c0392b")


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    color: str
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    labels: list[tuple[int, str]]  # x, day label
    legend: list[tuple[str, str, int]]  # color, series label, total
    maximum: int
    axis_y: int


def stacked_by_day(rows: list[UsageRow], days: list[dt.date]) -> Chart:
    """One bar per day, one colored segment per series (app or user)."""
    series = sorted({r.label for r in rows})
    colors = {name: PALETTE[i % len(PALETTE)] for i, name in enumerate(series)}
    per_day: dict[dt.date, dict[str, int]] = {d: {} for d in days}
    for row in rows:
        if row.day in per_day:
            per_day[row.day][row.label] = per_day[row.day].get(row.label, 0) + row.calls
    maximum = max([sum(v.values()) for v in per_day.values()] + [1])
    plot = HEIGHT - BOTTOM - TOP
    slot = (WIDTH - LEFT) // max(len(days), 1)
    bars: list[Bar] = []
    for index, day in enumerate(days):
        y = HEIGHT - BOTTOM
        for name in series:
            calls = per_day[day].get(name, 0)
            if not calls:
                continue
            height = max(1, round(plot * calls / maximum))
            y -= height
            bars.append(
                Bar(
                    LEFT + index * slot + slot // 6,
                    y,
                    slot * 2 // 3,
                    height,
                    colors[name],
                    f"{name}: {calls} on {day:%b %d}",
                )
            )
    labels = [(LEFT + i * slot + slot // 2, f"{d:%b %d}") for i, d in enumerate(days)]
    totals = {name: sum(r.calls for r in rows if r.label == name) for name in series}
    legend = [(colors[name], name, totals[name]) for name in series]
    return Chart(WIDTH, HEIGHT, bars, labels, legend, maximum, HEIGHT - BOTTOM)
