"""办理时限: every human step's time limit (DOMAIN.md §4), its due date and how it was computed.

A user task declares its limit with properties the designer sets:

- `timeLimit` — `30 workdays` (also `30个工作日`), `1 month` (`1个月`) or `10 days` (`10日`);
- `timeLimitFrom` — a date expression the limit counts from (e.g. `registered_on`); without it,
  from the day the step becomes available; `timeLimitFromLabel` names that date for people
  (`立案之日`; default `分配之日`);
- `timeLimitReminder` — a reminder (临期提醒) this many working days before the due date;
- `timeLimitPolicy` — the rule that fixes the number (e.g. `问责条例第二十条`): administrators
  cannot change it;
- `timeLimitSameAs` — the step shares the due date of another step of the instance (同步考虑容错
  情形 is due with 责任调查);
- `dueAt` (with `deadlineBasis`) — an explicit due date from the process data (the rectification
  deadline the decider set): fixed by the case, not a setting.

Administrators override `timeLimit`/`timeLimitReminder` per process and step
(`TimeLimitSetting`), except where a policy or a date fixes them. A step's due date is computed
once, when it becomes available, and stored with its basis (`立案之日 2026-03-02 起30个工作日`);
changing a setting applies to steps that become available afterwards. Overdue never takes the
step away: its alarms (`TaskAlarm`) only tell people.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.calendar import WorkCalendar, add_months
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, ProcessVersion, TimeLimitSetting
from workflows.errors import UnknownCalendarYear
from workflows.messages import t

LIMIT, FROM, FROM_LABEL = "timeLimit", "timeLimitFrom", "timeLimitFromLabel"
REMINDER, POLICY, SAME_AS = "timeLimitReminder", "timeLimitPolicy", "timeLimitSameAs"
DUE_AT = "dueAt"
PROPERTIES = (LIMIT, FROM, FROM_LABEL, REMINDER, POLICY, SAME_AS)

WORKDAYS, MONTHS, DAYS = "workdays", "months", "days"
UNIT_NAMES = {WORKDAYS: "个工作日", MONTHS: "个月", DAYS: "日"}
#: The largest limit of each unit: ten years, the bound every timer has.
MAX_AMOUNT = {WORKDAYS: 2500, MONTHS: 120, DAYS: 3650}
#: The day a limit counts from when the step does not name it: the day it became available, or
#: the date its `timeLimitFrom` gives.
FROM_LABELS = {"assigned": "分配之日", "counted": "起算之日"}
DEFAULT_FROM_LABEL = FROM_LABELS["assigned"]
#: Alarm kinds: before the due date, at it, at the end of a 督办期限.
REMIND, OVERDUE, SUPERVISION = "remind", "overdue", "supervision"

_UNIT_WORDS = {
    WORKDAYS: ("workdays", "workday", "working days", "working day", "个工作日", "工作日"),
    MONTHS: ("months", "month", "个月", "月"),
    DAYS: ("days", "day", "日", "天", "个自然日", "自然日"),
}
_LIMIT_TEXT = re.compile(r"^\s*(\d{1,5})\s*(\D+?)\s*$")


class TimeLimitRefused(ValueError):
    """A time limit that cannot be: says what, in the user's language, and which field."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Rule:
    amount: int
    unit: str
    reminder: int | None = None

    def text(self) -> str:
        return f"{self.amount}{UNIT_NAMES[self.unit]}"


def check_rule(amount: Any, unit: Any, reminder: Any = None) -> Rule:
    """A rule from its parts, or TimeLimitRefused naming the field at fault."""
    if unit not in UNIT_NAMES:
        raise TimeLimitRefused(
            t("时限单位须为 %(units)s 之一（工作日、月、自然日）", units="、".join(UNIT_NAMES)),
            field="unit",
        )
    if type(amount) is not int or amount < 1:
        raise TimeLimitRefused("时限须为正整数", field="amount")
    if amount > MAX_AMOUNT[unit]:
        raise TimeLimitRefused(
            t(
                "时限不能超过 10 年（%(max_amount)s%(unit)s）",
                max_amount=MAX_AMOUNT[unit],
                unit=UNIT_NAMES[unit],
            ),
            field="amount",
        )
    if reminder is not None:
        if type(reminder) is not int or reminder < 1:
            raise TimeLimitRefused("临期提醒须为正整数个工作日，或不设", field="reminder_workdays")
        if reminder > MAX_AMOUNT[WORKDAYS]:
            raise TimeLimitRefused("临期提醒不能早于 10 年", field="reminder_workdays")
    return Rule(amount, unit, reminder)


def parse(text: str, reminder: str | None = None) -> Rule:
    """`30 workdays`, `1个月`, `10 days` (and a reminder's working days) as a Rule."""
    found = _LIMIT_TEXT.match(str(text))
    unit = None
    if found:
        word = found.group(2).strip().lower()
        unit = next((u for u, words in _UNIT_WORDS.items() if word in words), None)
    if not found or unit is None:
        raise TimeLimitRefused(
            t(
                "办理时限“%(text)s”无法识别：应写作“30 workdays”“1 month”“10 days”或“30个工作日”“1个月”“10日”",
                text=text,
            ),
            field=LIMIT,
        )
    days_before: int | None = None
    if reminder not in (None, ""):
        if not str(reminder).strip().isdigit():
            raise TimeLimitRefused(
                t("临期提醒“%(reminder)s”应为工作日数（正整数）", reminder=reminder), field=REMINDER
            )
        days_before = int(str(reminder).strip())
    return check_rule(int(found.group(1)), unit, days_before)


def check_properties(props: Mapping[str, str]) -> list[tuple[str, str]]:
    """(property, problem) for a user task's time-limit properties; expressions are checked
    by the deployment's evaluator, not here."""
    problems: list[tuple[str, str]] = []
    if props.get(LIMIT):
        try:
            parse(props[LIMIT], props.get(REMINDER))
        except TimeLimitRefused as refused:
            problems.append((refused.field, str(refused)))
    elif props.get(REMINDER) and not props.get(DUE_AT) and not props.get(SAME_AS):
        problems.append((REMINDER, t("设了临期提醒却没有办理时限（timeLimit 或 dueAt）")))
    declared = [name for name in (LIMIT, DUE_AT, SAME_AS) if props.get(name)]
    if len(declared) > 1:
        problems.append((declared[1], t("%(names)s 只能设其一", names="、".join(declared))))
    if props.get(FROM) and not props.get(LIMIT):
        problems.append((FROM, t("timeLimitFrom 须与 timeLimit 一起设置")))
    return problems


def has_limit(props: Mapping[str, str]) -> bool:
    return any(props.get(name) for name in (LIMIT, DUE_AT, SAME_AS))


def is_fixed(props: Mapping[str, str]) -> str | None:
    """Why administrators cannot change this step's limit (None: they can)."""
    if props.get(POLICY):
        return f"依据{props[POLICY]}，时限由规定确定"
    if props.get(DUE_AT):
        return "期限由案件中确定的日期决定"
    if props.get(SAME_AS):
        return f"与步骤 {props[SAME_AS]} 同时到期"
    return None


# -- computing due dates -------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    """A step's due moment, its basis for people, and when to remind its holder."""

    at: datetime
    basis: str
    remind_at: datetime | None = None


def end_of(day: date, clock: Clock) -> datetime:
    """The moment a limit dated `day` passes: the start of the next local day (UTC)."""
    return datetime.combine(day + timedelta(days=1), time(0), clock.tz).astimezone(UTC)


def start_of(day: date, clock: Clock) -> datetime:
    return datetime.combine(day, time(0), clock.tz).astimezone(UTC)


def due_date(rule: Rule, start: date, calendar: WorkCalendar) -> date:
    if rule.unit == WORKDAYS:
        return calendar.add_workdays(start, rule.amount)
    if rule.unit == MONTHS:
        return add_months(start, rule.amount)
    return start + timedelta(days=rule.amount)


def reminder_moment(
    due_day: date, reminder: int | None, calendar: WorkCalendar, clock: Clock
) -> datetime | None:
    """The start of the working day `reminder` working days before the due day."""
    if not reminder:
        return None
    return start_of(calendar.add_workdays(due_day, -reminder), clock)


def compute(
    rule: Rule,
    *,
    start: date,
    from_label: str,
    policy: str | None,
    calendar: WorkCalendar,
    clock: Clock,
) -> Due:
    day = due_date(rule, start, calendar)
    basis = f"{from_label} {start.isoformat()} 起{rule.text()}"
    if policy:
        basis += f"（{policy}）"
    return Due(end_of(day, clock), basis, reminder_moment(day, rule.reminder, calendar, clock))


def overrides(session: Session, process_key: str) -> dict[str, Rule]:
    """This process's administrators' settings, by element."""
    rows = session.execute(
        select(TimeLimitSetting).where(TimeLimitSetting.process_key == process_key)
    ).scalars()
    return {row.element: Rule(row.amount, row.unit, row.reminder_workdays) for row in rows}


def rule_of(props: Mapping[str, str], setting: Rule | None) -> Rule | None:
    """The rule in force for a step: its setting, unless a policy fixes the BPMN's."""
    if setting is not None and not props.get(POLICY):
        return setting
    if not props.get(LIMIT):
        return None
    return parse(props[LIMIT], props.get(REMINDER))


def _newest_declaration(session: Session, process_key: str, element: str) -> dict[str, str]:
    """The rule-based time-limit properties the newest deployed version gives `element`."""
    from workflows.engine import versions  # not at the top: versions → spiff → this module

    newest = session.execute(
        select(ProcessVersion.id, ProcessVersion.content_hash)
        .where(ProcessVersion.process_key == process_key)
        .order_by(ProcessVersion.version.desc())
        .limit(1)
    ).first()
    if newest is None:
        return {}
    props = versions.load(session, newest.id, newest.content_hash).properties(element)
    if props.get(FROM) or props.get(DUE_AT) or props.get(SAME_AS):
        return {}  # their data may not exist in an older version's instances
    return {k: v for k, v in props.items() if k in (LIMIT, REMINDER, FROM_LABEL, POLICY)}


def _as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


@dataclass(frozen=True)
class NewStep:
    """What `resolve` needs of a step that just became available."""

    id: str
    element: str
    name: str
    props: Mapping[str, str]
    explicit_due: datetime | None  # from `dueAt` (or a boundary timer)
    explicit_basis: str | None
    limit_from: Any  # the evaluated `timeLimitFrom`, None: from today


def resolve(
    session: Session,
    *,
    instance_id: int,
    process_key: str,
    steps: Iterable[NewStep],
    calendar: WorkCalendar,
    clock: Clock,
) -> dict[str, Due]:
    """The due dates of steps that just became available, by engine task id."""
    steps = list(steps)
    if not steps:
        return {}
    settings: dict[str, Rule] | None = None
    today = clock.today()
    found: dict[str, Due] = {}
    later: list[NewStep] = []
    for step in steps:
        props = step.props
        if props.get(SAME_AS):
            later.append(step)
            continue
        if step.explicit_due is not None:
            reminder = parse("1 day", props.get(REMINDER)).reminder
            local_day = due_day(step.explicit_due, clock)
            found[step.id] = Due(
                step.explicit_due,
                step.explicit_basis or f"期限 {local_day.isoformat()}",
                reminder_moment(local_day, reminder, calendar, clock),
            )
            continue
        if settings is None:
            settings = overrides(session, process_key)
        if not has_limit(props):
            # a step of an older version (before time limits) gets this deployment's setting,
            # else what the newest version of the process declares for the same step
            props = _newest_declaration(session, process_key, step.element)
        rule = rule_of(props, settings.get(step.element))
        if rule is None:
            continue
        start = today if step.limit_from in (None, "") else _as_date(step.limit_from)
        label = props.get(FROM_LABEL) or (
            DEFAULT_FROM_LABEL if not props.get(FROM) else FROM_LABELS["counted"]
        )
        found[step.id] = compute(
            rule,
            start=start,
            from_label=label,
            policy=props.get(POLICY),
            calendar=calendar,
            clock=clock,
        )
    for step in later:
        element = step.props[SAME_AS]
        twin = next((found[s.id] for s in steps if s.element == element and s.id in found), None)
        name = next((s.name for s in steps if s.element == element), element)
        if twin is None:
            row = session.execute(
                select(HumanTask.due_at, HumanTask.due_basis, HumanTask.name)
                .where(HumanTask.instance_id == instance_id, HumanTask.task_spec == element)
                .order_by(HumanTask.id.desc())
                .limit(1)
            ).first()
            if row is not None and row.due_at is not None:
                twin, name = Due(row.due_at, row.due_basis or ""), row.name
        if twin is not None:
            found[step.id] = replace(twin, basis=f"与“{name}”同时到期：{twin.basis}")
    return found


def due_day(due_at: datetime, clock: Clock) -> date:
    """The local date a due moment (the end of that day) belongs to."""
    return (due_at.astimezone(clock.tz) - timedelta(microseconds=1)).date()


def overdue_workdays(due_at: datetime | None, now: datetime, calendar: Any, clock: Clock) -> int:
    """逾期 N 个工作日: working days after the due day up to today (0 when not overdue). A year
    the calendar does not know counts in calendar days: a list page never fails on it (the
    administrator is warned about undeclared years elsewhere)."""
    if due_at is None or now < due_at:
        return 0
    start, end = due_day(due_at, clock), now.astimezone(clock.tz).date()
    try:
        return max(1, calendar.workdays_between(start, end))
    except UnknownCalendarYear:
        return max(1, (end - start).days)
