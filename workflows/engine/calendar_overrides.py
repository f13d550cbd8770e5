"""Admin-entered working-day calendar (§4): single days ruled a working day (调休) or a
holiday, and years declared Monday–Friday when chinesecalendar does not know them yet.

Deadlines computed from now on follow the change; deadlines already set keep their date.
Used by the admin API and the `cadreflow calendar` commands; every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine import audit
from workflows.engine.calendar import _published_workdays
from workflows.engine.clock import Clock
from workflows.engine.models import CalendarOverride, CalendarYear
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t

YEARS = (2000, 2100)
#: How long before a year nobody declared its administrators (and supervisors) are warned.
WARN_AHEAD = timedelta(days=90)


@dataclass
class YearView:
    year: int
    published: bool  # chinesecalendar knows the year
    declared: bool  # an admin declared it Monday–Friday
    note: str
    days: list[CalendarOverride] = field(default_factory=list)


def _check_year(year: int, field_name: str = "year") -> None:
    low, high = YEARS
    if not low <= year <= high:
        raise ValidationFailed(
            t("年份 %(year)s 超出范围", year=year),
            [
                {
                    "field": field_name,
                    "message": t("应在 %(low)s 到 %(high)s 之间", low=low, high=high),
                }
            ],
        )


def year_view(session: Session, *, year: int) -> YearView:
    """What decides the working days of a year: the published calendar, a declaration, the
    admin's days (by date)."""
    _check_year(year)
    declared = session.get(CalendarYear, year)
    days = list(
        session.execute(
            select(CalendarOverride)
            .where(
                CalendarOverride.day >= date(year, 1, 1), CalendarOverride.day <= date(year, 12, 31)
            )
            .order_by(CalendarOverride.day)
        ).scalars()
    )
    return YearView(
        year=year,
        published=_published_workdays(year) is not None,
        declared=declared is not None,
        note=declared.note if declared else "",
        days=days,
    )


def undeclared_year_ahead(session: Session, *, today: date) -> int | None:
    """The first year from today to WARN_AHEAD on that neither chinesecalendar nor an
    administrator declared: deadlines falling in it cannot be computed, so cases cannot be
    registered and steps cannot start (None when every such year is known)."""
    for year in range(today.year, (today + WARN_AHEAD).year + 1):
        if _published_workdays(year) is None and session.get(CalendarYear, year) is None:
            return year
    return None


def declare_year(
    session: Session, *, year: int, note: str, actor: str, clock: Clock
) -> CalendarYear:
    """Declares a year known: its days without an override follow Monday–Friday. Idempotent
    (a new note replaces the old); audited."""
    _check_year(year)
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year, note=note)
        session.add(row)
    else:
        row.note = note
    session.flush()
    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action="calendar.declare_year",
        object_type="calendar",
        object_id=str(year),
        detail={"note": note},
    )
    return row


def set_day(
    session: Session, *, day: date, is_workday: bool, note: str, actor: str, clock: Clock
) -> CalendarOverride:
    """Rules one day a working day or a holiday, replacing an earlier ruling; audited."""
    _check_year(day.year, "day")
    row = session.get(CalendarOverride, day)
    if row is None:
        row = CalendarOverride(day=day)
        session.add(row)
    row.is_workday, row.note = is_workday, note
    session.flush()
    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action="calendar.set_day",
        object_type="calendar",
        object_id=day.isoformat(),
        detail={"kind": "workday" if is_workday else "holiday", "note": note},
    )
    return row


def clear_day(session: Session, *, day: date, actor: str, clock: Clock) -> None:
    """Removes the ruling on one day (the published calendar or the year's declaration
    applies again); NotFound if there is none; audited."""
    row = session.get(CalendarOverride, day)
    if row is None:
        raise NotFound(t("%(day)s 没有单独设置", day=day.isoformat()))
    detail = {"kind": "workday" if row.is_workday else "holiday", "note": row.note}
    session.delete(row)
    session.flush()
    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action="calendar.clear_day",
        object_type="calendar",
        object_id=day.isoformat(),
        detail={"was": detail},
    )
