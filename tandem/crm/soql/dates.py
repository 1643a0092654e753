"""Relative date literals (`TODAY`, `LAST_N_DAYS:7`) as half-open ranges of days."""

from __future__ import annotations

import datetime as dt

from tandem.crm.soql.ast import DateRange


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def day_bounds(literal: DateRange, today: dt.date) -> tuple[dt.date, dt.date]:
    """[first day, day after the last) of the literal, counted from `today` (weeks start Sunday)."""
    if literal.unit == "day":
        start = today + dt.timedelta(days=literal.start)
        return start, start + dt.timedelta(days=literal.length)
    if literal.unit == "week":
        sunday = today - dt.timedelta(days=(today.weekday() + 1) % 7)
        start = sunday + dt.timedelta(weeks=literal.start)
        return start, start + dt.timedelta(weeks=literal.length)
    months = 1 if literal.unit == "month" else 12
    first = today.replace(day=1) if literal.unit == "month" else today.replace(month=1, day=1)
    start = _add_months(first, literal.start * months)
    return start, _add_months(start, literal.length * months)


def datetime_bounds(literal: DateRange, today: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The same range as UTC instants (midnight to midnight)."""
    start, end = day_bounds(literal, today)
    return (
        dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC),
        dt.datetime.combine(end, dt.time(), tzinfo=dt.UTC),
    )
