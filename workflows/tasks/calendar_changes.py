"""A change set of the working-day calendar (§4): a holiday and its 调休 working days entered
as one range, or a year's State Council notice imported as a small CSV.

Before saving, `preview` lists the open steps' due dates and reminders that the change would
move; `apply` rules the days, moves those deadlines and writes one audit row naming the days
and the steps moved, all in the caller's transaction. Only limits counted in working days move
(a limit in months or calendar days, or a date the case fixed, keeps its due date); a reminder
moves whenever its working days before the due date fall differently.

CSV format, one day or range a line (a header line `date,kind,name`, blank lines and lines
starting with `#` are skipped)::

    2027-02-06~2027-02-13,休,春节
    2027-02-14,班,春节调休
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.models import CaseFile
from workflows.engine import audit, functions, time_limits
from workflows.engine.calendar import WorkCalendar
from workflows.engine.calendar_overrides import YEARS
from workflows.engine.clock import Clock
from workflows.engine.models import CalendarOverride, HumanTask, TaskAlarm, table_of
from workflows.errors import UnknownCalendarYear, ValidationFailed
from workflows.messages import t

#: The CSV's kinds: 休 a holiday, 班 a working day (调休上班).
KINDS = {"休": False, "班": True}
#: The longest range one line may rule (a notice's longest holiday is 8 or 9 days).
MAX_RANGE_DAYS = 31
NOTE_LENGTH = 200
#: The longest CSV taken at once: a year's notice is a few hundred characters.
CSV_LENGTH = 20_000
_ALARMS = table_of(TaskAlarm)
# The basis `compute` writes: "<from label> 2026-03-02 起30个工作日…".
_WORKDAY_BASIS = re.compile(r"(\d{4}-\d{2}-\d{2}) 起(\d+)个工作日")


@dataclass(frozen=True)
class DayRuling:
    """One day of the change set: a holiday or a working day, with its note."""

    day: date
    is_workday: bool
    note: str


@dataclass(frozen=True)
class Move:
    """An open step's deadline the change moves: its due date (`due`) or its reminder."""

    task_id: int
    case_number: str | None
    step: str
    what: str  # "due" or "remind"
    before: datetime
    after: datetime


@dataclass(frozen=True)
class ChangeSet:
    """The days a change rules and the deadlines it moves."""

    days: tuple[DayRuling, ...]
    moves: tuple[Move, ...]


def _refuse(problems: list[dict[str, str]]) -> None:
    if problems:
        raise ValidationFailed(t("日历未保存：共 %(count)s 处问题", count=len(problems)), problems)


def _date(text: str, field: str, problems: list[dict[str, str]], where: str = "") -> date | None:
    """A date from YYYY-MM-DD within YEARS, or None with the problem noted."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        message = (
            t("“%(text)s”不是日期，应为 YYYY-MM-DD", text=text.strip())
            if text.strip()
            else t("请填写日期")
        )
        problems.append({"field": field, "message": where + message})
        return None
    low, high = YEARS
    if not low <= day.year <= high:
        problems.append(
            {
                "field": field,
                "message": t(
                    "%(where)s%(day)s 的年度应在 %(low)s 到 %(high)s 之间",
                    where=where,
                    day=day.isoformat(),
                    low=low,
                    high=high,
                ),
            }
        )
        return None
    return day


def _span(
    start: date, end: date, field: str, problems: list[dict[str, str]], where: str = ""
) -> list[date]:
    if end < start:
        problems.append(
            {
                "field": field,
                "message": t(
                    "%(where)s结束日 %(end)s 早于开始日 %(start)s，请对调",
                    where=where,
                    end=end,
                    start=start,
                ),
            }
        )
        return []
    if (end - start).days >= MAX_RANGE_DAYS:
        problems.append(
            {
                "field": field,
                "message": t(
                    "%(where)s一段不能超过 %(max_days)s 天（%(start)s 至 %(end)s）",
                    where=where,
                    max_days=MAX_RANGE_DAYS,
                    start=start,
                    end=end,
                ),
            }
        )
        return []
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def _merge(
    entries: Iterable[tuple[date, bool, str, str, str]], problems: list[dict[str, str]]
) -> tuple[DayRuling, ...]:
    """Days from (day, is_workday, note, field, where) entries; a day ruled both ways is refused."""
    found: dict[date, DayRuling] = {}
    for day, is_workday, note, field, where in entries:
        earlier = found.get(day)
        if earlier is not None and earlier.is_workday != is_workday:
            problems.append(
                {
                    "field": field,
                    "message": t(
                        "%(where)s%(day)s 既设为放假又设为调休上班，只能取其一",
                        where=where,
                        day=day,
                    ),
                }
            )
            continue
        found[day] = DayRuling(day, is_workday, note)
    return tuple(found[day] for day in sorted(found))


def _note(note: str, field: str, problems: list[dict[str, str]], where: str = "") -> str:
    note = note.strip()
    if len(note) > NOTE_LENGTH:
        problems.append(
            {
                "field": field,
                "message": t("%(where)s说明不能超过 %(limit)s 字", where=where, limit=NOTE_LENGTH),
            }
        )
    return note


def from_range(
    *, holiday_from: str, holiday_to: str, workdays: Sequence[str] | str, note: str
) -> tuple[DayRuling, ...]:
    """A holiday from `holiday_from` to `holiday_to` (both included) and its 调休 working days
    (a list, or text separated by commas or spaces); every problem at once."""
    problems: list[dict[str, str]] = []
    note = _note(note, "note", problems)
    start = _date(holiday_from, "holiday_from", problems)
    end = _date(holiday_to, "holiday_to", problems)
    span = _span(start, end, "holiday_to", problems) if start and end else []
    texts = re.split(r"[\s,，、]+", workdays) if isinstance(workdays, str) else list(workdays)
    extra = [_date(t, "workdays", problems) for t in texts if str(t).strip()]
    days = _merge(
        [(d, False, note, "holiday_to", "") for d in span]
        + [(d, True, note, "workdays", "调休上班日 ") for d in extra if d is not None],
        problems,
    )
    _refuse(problems)
    return days


def from_csv(text: str) -> tuple[DayRuling, ...]:
    """The days of a CSV (module docstring); each bad line is named by its number, all at once."""
    problems: list[dict[str, str]] = []
    entries: list[tuple[date, bool, str, str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        where = t("第 %(number)s 行：", number=number)
        try:
            cells = [cell.strip() for cell in next(csv.reader([line]), [])]
        except csv.Error:
            problems.append(
                {"field": "csv", "message": t("%(where)s不是可读的 CSV 行", where=where)}
            )
            continue
        if not any(cells) or cells[0].startswith("#") or cells[0].lower() == "date":
            continue
        if len(cells) < 2 or len(cells) > 3:
            problems.append(
                {
                    "field": "csv",
                    "message": t(
                        "%(where)s应为“日期,休或班,名称”三列，实有 %(count)s 列",
                        where=where,
                        count=len(cells),
                    ),
                }
            )
            continue
        kind = cells[1]
        if kind not in KINDS:
            problems.append(
                {
                    "field": "csv",
                    "message": t("%(where)s类别“%(kind)s”应为“休”或“班”", where=where, kind=kind),
                }
            )
        note = _note(cells[2] if len(cells) == 3 else "", "csv", problems, where)
        first, _sep, last = cells[0].replace("～", "~").partition("~")
        start = _date(first, "csv", problems, where)
        end = _date(last, "csv", problems, where) if last else start
        if start is None or end is None or kind not in KINDS:
            continue
        entries += [
            (d, KINDS[kind], note, "csv", where) for d in _span(start, end, "csv", problems, where)
        ]
    if not entries and not problems:
        problems.append(
            {"field": "csv", "message": t("没有可导入的行：每行应为“日期,休或班,名称”")}
        )
    days = _merge(entries, problems)
    _refuse(problems)
    return days


def days_of(
    *, csv_text: str, holiday_from: str, holiday_to: str, workdays: Sequence[str] | str, note: str
) -> tuple[DayRuling, ...]:
    """The days of a change entered either way: the CSV when given, else the range."""
    if len(csv_text) > CSV_LENGTH:
        raise ValidationFailed(
            t("日历未保存：CSV 过长"),
            [
                {
                    "field": "csv",
                    "message": t("CSV 不能超过 %(limit)s 个字符", limit=CSV_LENGTH),
                }
            ],
        )
    if csv_text.strip():
        if holiday_from.strip() or holiday_to.strip():
            raise ValidationFailed(
                t("日历未保存：CSV 与放假区间只能填其一"),
                [{"field": "csv", "message": t("已填放假区间时不能同时导入 CSV，请只填其一")}],
            )
        return from_csv(csv_text)
    return from_range(
        holiday_from=holiday_from, holiday_to=holiday_to, workdays=workdays, note=note
    )


def _with(calendar: WorkCalendar, days: Iterable[DayRuling]) -> WorkCalendar:
    return WorkCalendar(
        overrides={**calendar.overrides, **{d.day: d.is_workday for d in days}},
        override_years=calendar.override_years,
    )


def _recounted(
    *,
    due_at: datetime,
    basis: str | None,
    remind_at: datetime | None,
    old: WorkCalendar,
    new: WorkCalendar,
    clock: Clock,
) -> tuple[datetime, datetime | None]:
    """A step's due moment and reminder under the new calendar, counted as they were: a
    working-day limit again from its start, a reminder as many working days before."""
    moved = due_at
    found = _WORKDAY_BASIS.search(basis or "")
    if found:
        start = date.fromisoformat(found.group(1))
        moved = time_limits.end_of(new.add_workdays(start, int(found.group(2))), clock)
    if remind_at is None:
        return moved, None
    before = old.workdays_between(
        remind_at.astimezone(clock.tz).date(), time_limits.due_day(due_at, clock)
    )
    day = new.add_workdays(time_limits.due_day(moved, clock), -before)
    return moved, time_limits.start_of(day, clock)


def _moves(session: Session, days: Sequence[DayRuling], clock: Clock) -> list[Move]:
    old = functions.load_calendar(session)
    new = _with(old, days)
    reminders = {
        (row.instance_id, row.spiff_task_id): row.fire_at
        for row in session.execute(
            select(_ALARMS.c.instance_id, _ALARMS.c.spiff_task_id, _ALARMS.c.fire_at).where(
                _ALARMS.c.kind == time_limits.REMIND
            )
        )
    }
    rows = session.execute(
        select(HumanTask, CaseFile.number)
        .outerjoin(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
        .where(HumanTask.state == "open")
        .order_by(HumanTask.due_at, HumanTask.id)
    ).all()
    moves: list[Move] = []
    for task, number in rows:
        if task.due_at is None:
            continue
        remind_at = reminders.get((task.instance_id, task.spiff_task_id))
        try:
            due_at, new_remind = _recounted(
                due_at=task.due_at,
                basis=task.due_basis,
                remind_at=remind_at,
                old=old,
                new=new,
                clock=clock,
            )
        except UnknownCalendarYear:
            continue  # counted across a year nobody declared: left as it stands
        if due_at != task.due_at:
            moves.append(Move(task.id, number, task.name, "due", task.due_at, due_at))
        if remind_at is not None and new_remind is not None and new_remind != remind_at:
            moves.append(Move(task.id, number, task.name, "remind", remind_at, new_remind))
    return moves


def preview(session: Session, *, days: Sequence[DayRuling], clock: Clock) -> ChangeSet:
    """What saving `days` would change, saving nothing."""
    return ChangeSet(tuple(days), tuple(_moves(session, days, clock)))


def apply(session: Session, *, days: Sequence[DayRuling], actor: str, clock: Clock) -> ChangeSet:
    """Rules the days, moves the open steps' due dates and alarms that follow them, and
    records one audit row with the days and the steps moved."""
    moves = _moves(session, days, clock)
    for ruling in days:
        row = session.get(CalendarOverride, ruling.day)
        if row is None:
            row = CalendarOverride(day=ruling.day)
            session.add(row)
        row.is_workday, row.note = ruling.is_workday, ruling.note
    session.flush()
    for move in moves:
        task = session.get(HumanTask, move.task_id)
        assert task is not None
        kind = time_limits.REMIND if move.what == "remind" else time_limits.OVERDUE
        if move.what == "due":
            task.due_at = move.after
        session.execute(
            _ALARMS.update()
            .where(
                _ALARMS.c.instance_id == task.instance_id,
                _ALARMS.c.spiff_task_id == task.spiff_task_id,
                _ALARMS.c.kind == kind,
            )
            .values(fire_at=move.after)
        )
    session.flush()
    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action="calendar.change_set",
        object_type="calendar",
        object_id=f"{days[0].day.isoformat()}~{days[-1].day.isoformat()}",
        detail={
            "days": [
                {
                    "day": d.day.isoformat(),
                    "kind": "workday" if d.is_workday else "holiday",
                    "note": d.note,
                }
                for d in days
            ],
            "moved": [
                {
                    "task": m.task_id,
                    "case": m.case_number,
                    "what": m.what,
                    "before": m.before.isoformat(),
                    "after": m.after.isoformat(),
                }
                for m in moves
            ],
        },
    )
    return ChangeSet(tuple(days), tuple(moves))
