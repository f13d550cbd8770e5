"""The registered functions expressions may call, bound to a database's calendar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import Integer, cast, null, select, union_all
from sqlalchemy.orm import Session

from workflows.engine import expressions
from workflows.engine.calendar import WorkCalendar
from workflows.engine.clock import Clock
from workflows.engine.models import CalendarOverride, CalendarYear, table_of

_OVERRIDES, _YEARS = table_of(CalendarOverride), table_of(CalendarYear)
# Both tables in one round trip: (day, is_workday, NULL) per override, (NULL, NULL, year) per year.
_CALENDAR = union_all(
    select(_OVERRIDES.c.day, _OVERRIDES.c.is_workday, cast(null(), Integer).label("year")),
    select(null(), null(), _YEARS.c.year),
)


def load_calendar(session: Session) -> WorkCalendar:
    """The PRC calendar with the admin's overrides and declared years."""
    overrides: dict[date, bool] = {}
    years: set[int] = set()
    for day, is_workday, year in session.execute(_CALENDAR):
        if year is not None:
            years.add(year)
        else:
            overrides[day] = bool(is_workday)
    return WorkCalendar(overrides=overrides, override_years=frozenset(years))


class LazyCalendar:
    """Reads the overrides only when an expression needs working days."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._calendar: WorkCalendar | None = None

    def __getattr__(self, name: str) -> Any:
        if self._calendar is None:
            self._calendar = load_calendar(self._session)
        return getattr(self._calendar, name)


def bound(
    session: Session, clock: Clock, calendar: LazyCalendar | None = None
) -> dict[str, Callable[..., Any]]:
    lazy: Any = calendar or LazyCalendar(session)
    return expressions.standard_functions(calendar=lazy, clock=clock)
