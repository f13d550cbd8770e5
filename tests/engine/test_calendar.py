"""Working days: the published PRC calendar, admin overrides, and refusal of unknown years."""

from __future__ import annotations

from datetime import date

import pytest

from workflows.engine.calendar import WorkCalendar, add_months
from workflows.errors import UnknownCalendarYear

CAL = WorkCalendar()


def test_spring_festival_2026_with_adjusted_saturdays() -> None:
    # 2026-02-14 and 2026-02-28 are 调休 Saturdays; 02-15..02-23 is the holiday.
    assert CAL.add_workdays(date(2026, 2, 10), 10) == date(2026, 3, 2)


def test_adjusted_saturday_is_a_working_day() -> None:
    assert CAL.is_workday(date(2026, 2, 14))
    assert CAL.is_workday(date(2026, 2, 28))


def test_holidays_and_weekends_are_not_working_days() -> None:
    assert not CAL.is_workday(date(2026, 10, 1))
    assert not CAL.is_workday(date(2026, 2, 17))
    assert not CAL.is_workday(date(2026, 3, 1))  # Sunday
    assert CAL.is_workday(date(2026, 3, 2))


def test_unknown_year_is_refused() -> None:
    with pytest.raises(UnknownCalendarYear) as info:
        CAL.is_workday(date(2031, 3, 3))
    assert info.value.year == 2031


def test_override_year_follows_weekdays_and_overrides() -> None:
    cal = WorkCalendar(
        overrides={date(2031, 1, 1): False, date(2031, 1, 4): True},
        override_years=frozenset({2031}),
    )
    assert not cal.is_workday(date(2031, 1, 1))  # Wednesday, declared a holiday
    assert cal.is_workday(date(2031, 1, 2))  # Thursday
    assert cal.is_workday(date(2031, 1, 4))  # Saturday, declared a working day
    assert not cal.is_workday(date(2031, 1, 5))  # Sunday
    assert cal.add_workdays(date(2031, 1, 1), 3) == date(2031, 1, 4)
    assert cal.add_workdays(date(2031, 1, 1), 4) == date(2031, 1, 6)


def test_override_of_a_day_in_an_undeclared_year_is_still_used() -> None:
    cal = WorkCalendar(overrides={date(2031, 5, 6): True})
    assert cal.is_workday(date(2031, 5, 6))
    with pytest.raises(UnknownCalendarYear):
        cal.is_workday(date(2031, 5, 7))


def test_override_wins_over_the_published_calendar() -> None:
    cal = WorkCalendar(overrides={date(2026, 10, 1): True, date(2026, 3, 2): False})
    assert cal.is_workday(date(2026, 10, 1))
    assert not cal.is_workday(date(2026, 3, 2))


def test_add_workdays_crossing_into_an_unknown_year_raises() -> None:
    with pytest.raises(UnknownCalendarYear) as info:
        CAL.add_workdays(date(2026, 12, 20), 30)
    assert info.value.year == 2027


def test_add_workdays_zero_and_negative() -> None:
    assert CAL.add_workdays(date(2026, 3, 1), 0) == date(2026, 3, 1)
    assert CAL.add_workdays(date(2026, 3, 2), -10) == date(2026, 2, 10)
    assert CAL.add_workdays(date(2026, 3, 2), -1) == date(2026, 2, 28)


def test_workdays_between() -> None:
    assert CAL.workdays_between(date(2026, 2, 10), date(2026, 3, 2)) == 10
    assert CAL.workdays_between(date(2026, 3, 2), date(2026, 2, 10)) == -10
    assert CAL.workdays_between(date(2026, 3, 2), date(2026, 3, 2)) == 0


def test_calendar_copies_overrides() -> None:
    overrides = {date(2026, 3, 2): False}
    cal = WorkCalendar(overrides=overrides)
    overrides[date(2026, 3, 2)] = True
    assert not cal.is_workday(date(2026, 3, 2))
    assert hash(cal) == hash(WorkCalendar(overrides={date(2026, 3, 2): False}))


@pytest.mark.parametrize(
    ("day", "n", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 1, 15), -1, date(2025, 12, 15)),
        (date(2026, 11, 30), 3, date(2027, 2, 28)),
        (date(2026, 5, 31), 12, date(2027, 5, 31)),
        (date(2026, 5, 10), 0, date(2026, 5, 10)),
        (date(2026, 12, 31), -12, date(2025, 12, 31)),
    ],
)
def test_add_months(day: date, n: int, expected: date) -> None:
    assert add_months(day, n) == expected
