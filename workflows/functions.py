"""The registered functions expressions may call, bound to a database's calendar."""
from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import expressions
from .calendar import WorkCalendar
from .clock import Clock
from .models import CalendarOverride, CalendarYear


def load_calendar(session: Session) -> WorkCalendar:
    """The PRC calendar with the admin's overrides and declared years."""
    overrides: dict[date, bool] = {
        row.day: row.is_workday for row in session.execute(select(CalendarOverride)).scalars()
    }
    years = frozenset(session.execute(select(CalendarYear.year)).scalars())
    return WorkCalendar(overrides=overrides, override_years=years)


class _LazyCalendar:
    """Reads the overrides only when an expression needs working days."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._calendar: WorkCalendar | None = None

    def __getattr__(self, name: str) -> Any:
        if self._calendar is None:
            self._calendar = load_calendar(self._session)
        return getattr(self._calendar, name)


def bound(session: Session, clock: Clock) -> dict[str, Callable[..., Any]]:
    calendar: Any = _LazyCalendar(session)
    return expressions.standard_functions(calendar=calendar, clock=clock)
