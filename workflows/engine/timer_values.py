"""Bounds on timer values (定时器取值): what a timeDate, timeDuration or timeCycle may evaluate to.

SpiffWorkflow takes any ISO 8601 text and computes with it: a duration of `P99999999Y` is
walked a month at a time (the sweep sat at full CPU holding SQLite's write lock), a cycle
of `R/PT0S` fires at every sweep without end, and `PT-1S`, `P1000000000D`, `2026-13-45` or
a bare number fail deep inside it with a raw Python error. Every timer value therefore
passes here first — at validation when the expression is a constant, and when the engine
evaluates it from task data — and is refused with a Chinese message naming the element.

The bounds:
- a date (timeDate, a cycle's start or end) lies within `MAX_YEARS` years of now, either way;
- a duration (timeDuration) is zero or more and at most `MAX_YEARS` years;
- a cycle repeats every `MIN_CYCLE_INTERVAL` or more, at most `MAX_CYCLE_REPEATS` times; a cycle
  without a count (`R/…`) needs an interval of at least `MIN_UNCOUNTED_INTERVAL`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workflows.errors import DomainError
from workflows.messages import t

MAX_YEARS = 10
#: MAX_YEARS of mean (Gregorian) years and a day's slack: P10Y and P120M pass, P3654D does not.
MAX_SPAN = timedelta(days=MAX_YEARS * 365.2425 + 1)
MIN_CYCLE_INTERVAL = timedelta(minutes=1)
MAX_CYCLE_REPEATS = 1000
MIN_UNCOUNTED_INTERVAL = timedelta(days=1)

KINDS = {"timeDate": "date", "timeDuration": "duration", "timeCycle": "cycle"}
KIND_NAMES = {
    "date": "时间点（timeDate）",
    "duration": "时长（timeDuration）",
    "cycle": "周期（timeCycle）",
}

# Designators in order with their mean length in days, and the shortest (a month may be
# 28 days, a year 365): the length is bounded by the mean, a cycle's interval by the shortest.
_UNITS = (
    (365.2425, 365.0),
    (30.436875, 28.0),
    (7.0, 7.0),
    (1.0, 1.0),
    (1 / 24, 1 / 24),
    (1 / 1440, 1 / 1440),
    (1 / 86400, 1 / 86400),
)
_NUMBER = r"(\d{1,12}(?:[.,]\d{1,9})?)"
_DURATION = re.compile(
    r"P(?:" + _NUMBER + r"Y)?(?:" + _NUMBER + r"M)?(?:" + _NUMBER + r"W)?(?:" + _NUMBER + r"D)?"
    r"(?:T(?:" + _NUMBER + r"H)?(?:" + _NUMBER + r"M)?(?:" + _NUMBER + r"S)?)?"
)
_CYCLE_COUNT = re.compile(r"R(\d{0,12})")


class TimerValueRefused(DomainError):
    """A timer's value is malformed or out of bounds; `element` names the timer event."""

    code = "timer_value_refused"

    def __init__(self, reason: str, *, kind: str, value: Any, element: str | None = None) -> None:
        where = t("定时器 %(element)s 的", element=element) if element else t("定时器的")
        shown = value if isinstance(value, str) else repr(value)
        if len(shown) > 80:
            shown = shown[:77] + "…"
        super().__init__(
            t(
                "%(where)s%(kind)s取值 %(shown)s 不被接受：%(reason)s",
                where=where,
                kind=KIND_NAMES.get(kind, kind),
                shown=shown,
                reason=reason,
            ),
            element=element,
        )
        self.reason = reason
        self.element = element


@dataclass(frozen=True)
class Duration:
    """A parsed ISO 8601 duration: its mean length and the shortest it may last (months and
    years differ in length)."""

    length: timedelta
    shortest: timedelta


def check(kind: str, value: Any, *, now: datetime, element: str | None = None) -> None:
    """Refuses a value of a timer of `kind` ('date', 'duration', 'cycle') outside the bounds."""

    def refuse(reason: str) -> TimerValueRefused:
        return TimerValueRefused(reason, kind=kind, value=value, element=element)

    if not isinstance(value, str):
        raise refuse(t("应为文本（ISO 8601），而不是%(type)s", type=_type_name(value)))
    if value != value.strip():
        raise refuse(t("前后不能有空白"))
    if kind == "date":
        _check_date(value, now, refuse)
    elif kind == "duration":
        parse_duration(value, refuse)
    elif kind == "cycle":
        _check_cycle(value, now, refuse)
    else:
        raise ValueError(f"unknown timer kind {kind!r}")


def _type_name(value: Any) -> str:
    if isinstance(value, bool):
        return t("是非值")
    if isinstance(value, (int, float)):
        return t("数字")
    if value is None:
        return t("空值")
    return type(value).__name__


def parse_duration(text: str, refuse: Any) -> Duration:
    """An ISO 8601 duration as SpiffWorkflow reads it (PnYnMnDTnHnMnS or PnW; a fraction
    only in the last component), or the reason it is refused."""
    upper = text.upper()
    if not upper.startswith("P"):
        raise refuse(t("应为 ISO 8601 时长，如 P30D、PT2H、P1Y2M"))
    if "-" in upper:
        raise refuse(t("时长不能为负数"))
    match = _DURATION.fullmatch(upper)
    parts = match.groups() if match else ()
    if not match or not any(parts) or upper.endswith("T"):
        raise refuse(t("应为 ISO 8601 时长，如 P30D、PT2H、P1Y2M"))
    present = [i for i, p in enumerate(parts) if p]
    if any(("." in parts[i] or "," in parts[i]) for i in present[:-1]):
        raise refuse(t("只有最后一项可以带小数"))
    if any(p and ("." in p or "," in p) for p in parts[:2]):
        raise refuse(t("年、月不能带小数"))
    if parts[2] and any(parts[i] for i in (0, 1, 3)):
        raise refuse(t("周（W）不能与年、月、日同用"))
    length = shortest = 0.0
    for (mean, least), part in zip(_UNITS, parts):
        if part:
            amount = float(part.replace(",", "."))
            length += amount * mean
            shortest += amount * least
    if length > MAX_SPAN / timedelta(days=1):
        raise refuse(t("时长不能超过 %(years)s 年", years=MAX_YEARS))
    return Duration(timedelta(days=length), timedelta(days=shortest))


def parse_date(text: str, refuse: Any) -> datetime:
    """An ISO 8601 date or date-time (a date alone is its midnight); UTC when no zone is given
    only for the bound check (the engine reads it in the server's zone)."""
    if not text or text.upper().startswith("P"):
        raise refuse(
            t(
                "应为 ISO 8601 日期或日期时间，如 2027-03-01 或 2027-03-01T09:00:00+08:00，而不是时长"
            )
        )
    if "W" in text.upper():
        raise refuse(t("不接受按周记的日期，请写成 YYYY-MM-DD"))
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise refuse(t("不是有效的日期，应为 YYYY-MM-DD 或 YYYY-MM-DDTHH:MM:SS+08:00")) from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _check_date(text: str, now: datetime, refuse: Any) -> datetime:
    moment = parse_date(text, refuse)
    _within(moment, now, refuse)
    return moment


def _within(moment: datetime, now: datetime, refuse: Any) -> None:
    try:
        ahead = moment - now
    except OverflowError:  # pragma: no cover - fromisoformat's years fit; kept for safety
        raise refuse(t("须在当前时间前后 %(years)s 年之内", years=MAX_YEARS)) from None
    if ahead > MAX_SPAN:
        raise refuse(t("不能晚于当前时间 %(years)s 年以上", years=MAX_YEARS))
    if -ahead > MAX_SPAN:
        raise refuse(t("不能早于当前时间 %(years)s 年以上", years=MAX_YEARS))


def _check_cycle(text: str, now: datetime, refuse: Any) -> None:
    parts = text.split("/")
    count = _CYCLE_COUNT.fullmatch(parts[0].upper()) if parts else None
    if count is None or len(parts) not in (2, 3):
        raise refuse(
            t(
                "应为 ISO 8601 重复间隔：R[次数]/间隔、R[次数]/开始时间/间隔 或 R[次数]/间隔/结"
                "束时间，如 R12/P1M、R/2027-01-15T09:00:00+08:00/P1Y"
            )
        )
    if len(parts) == 2:
        interval = parse_duration(parts[1], refuse)
    elif parts[1].upper().startswith("P"):
        interval = parse_duration(parts[1], refuse)
        _check_date(parts[2], now, refuse)
    else:
        _check_date(parts[1], now, refuse)
        if not parts[2].upper().startswith("P"):
            raise refuse(t("开始时间之后应为间隔（时长），如 P1Y"))
        interval = parse_duration(parts[2], refuse)
    if interval.shortest < MIN_CYCLE_INTERVAL:
        raise refuse(t("重复间隔不能短于 %(span)s", span=_span(MIN_CYCLE_INTERVAL)))
    repeats = count.group(1)
    if repeats and int(repeats) > MAX_CYCLE_REPEATS:
        raise refuse(t("重复次数不能超过 %(repeats)s 次", repeats=MAX_CYCLE_REPEATS))
    if not repeats and interval.shortest < MIN_UNCOUNTED_INTERVAL:
        raise refuse(
            t(
                "不限次数的重复（R/…）间隔不能短于 %(span)s；更短的间隔请写明次数（至多 %(repeats)s 次）",
                span=_span(MIN_UNCOUNTED_INTERVAL),
                repeats=MAX_CYCLE_REPEATS,
            )
        )


def _span(span: timedelta) -> str:
    if span >= timedelta(days=1) and span.seconds == 0:
        return t("%(days)s 天", days=span.days)
    return t("%(minutes)s 分钟", minutes=int(span.total_seconds() // 60))


def check_cycle_state(*, cycles: int, seconds: float, element: str | None = None) -> None:
    """A cycle already running, as the engine keeps it (repeats left, -1 without end, and the
    interval in seconds), against the same bounds."""
    value = f"R{cycles if cycles >= 0 else ''}/PT{seconds:g}S"

    def refuse(reason: str) -> TimerValueRefused:
        return TimerValueRefused(reason, kind="cycle", value=value, element=element)

    if cycles == 0:
        return
    if seconds < MIN_CYCLE_INTERVAL.total_seconds():
        raise refuse(t("重复间隔不能短于 %(span)s", span=_span(MIN_CYCLE_INTERVAL)))
    if cycles > MAX_CYCLE_REPEATS:
        raise refuse(t("重复次数不能超过 %(repeats)s 次", repeats=MAX_CYCLE_REPEATS))
    if cycles < 0 and seconds < MIN_UNCOUNTED_INTERVAL.total_seconds():
        raise refuse(
            t("不限次数的重复（R/…）间隔不能短于 %(span)s", span=_span(MIN_UNCOUNTED_INTERVAL))
        )
