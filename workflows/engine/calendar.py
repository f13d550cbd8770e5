"""Working days by the PRC calendar, for deadlines counted in 工作日.

Chinese working days are not simply Monday to Friday: public holidays move every year and
some weekend days become working days (调休). The `chinese_calendar` package carries the
State Council's published calendar; an admin can enter years it does not know yet. A year
that neither knows is refused (UnknownCalendarYear) instead of guessed, because a silently
wrong deadline in an accountability case is worse than a visible error.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from types import MappingProxyType

import chinese_calendar

from workflows.errors import UnknownCalendarYear

_DAY = timedelta(days=1)


@cache
def _published_workdays(year: int) -> frozenset[date] | None:
    """The working days of `year` per chinese_calendar, or None if it does not know the year.

    Built once per year so that counting 30 working days is 30 set look-ups.
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return None
    day, days = date(year, 1, 1), set()
    while day.year == year:
        if chinese_calendar.is_workday(day):
            days.add(day)
        day += _DAY
    return frozenset(days)


@dataclass(frozen=True)
class WorkCalendar:
    """The published calendar plus admin-entered days and years."""

    overrides: Mapping[date, bool] = field(default_factory=dict)
    override_years: frozenset[int] = frozenset()

    def __post_init__(self) -> None:
        # A read-only copy: the caller's dict may change, a deadline computed earlier may not.
        object.__setattr__(self, "overrides", MappingProxyType(dict(self.overrides)))
        object.__setattr__(self, "override_years", frozenset(self.override_years))

    def __hash__(self) -> int:
        return hash((frozenset(self.overrides.items()), self.override_years))

    def is_workday(self, day: date) -> bool:
        if isinstance(day, datetime):
            day = day.date()
        override = self.overrides.get(day)
        if override is not None:
            return bool(override)
        published = _published_workdays(day.year)
        if published is not None:
            return day in published
        if day.year in self.override_years:
            return day.weekday() < 5
        raise UnknownCalendarYear(day.year)

    def add_workdays(self, start: date, n: int) -> date:
        """The n-th working day after `start` (not counted itself); before it if n < 0."""
        if isinstance(start, datetime):
            start = start.date()
        step = _DAY if n > 0 else -_DAY
        day, remaining = start, abs(n)
        while remaining:
            day += step
            if self.is_workday(day):
                remaining -= 1
        return day

    def workdays_between(self, start: date, end: date) -> int:
        """Working days in (start, end]; negative when end is before start."""
        if isinstance(start, datetime):
            start = start.date()
        if isinstance(end, datetime):
            end = end.date()
        if end < start:
            return -self.workdays_between(end, start)
        count, day = 0, start
        while day < end:
            day += _DAY
            count += self.is_workday(day)
        return count


def _days_in_month(year: int, month: int) -> int:
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - _DAY).day


def add_months(day: date, n: int) -> date:
    """Calendar months; the day is clamped to the month's end (01-31 + 1 → 02-28 or 02-29)."""
    year, month0 = divmod(day.year * 12 + day.month - 1 + n, 12)
    month = month0 + 1
    return date(year, month, min(day.day, _days_in_month(year, month)))
