"""The one clock everything reads "now" from (DOMAIN.md §4).

Production uses the system time. With CLOCK_ADJUSTABLE (demo, test, acceptance) the
clock carries an offset stored in the database so that every process — server,
scheduler, CLI — sees the same moved time; `sync` re-reads it at each transaction.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from workflows.errors import ClockNotAdjustable, ValidationFailed
from workflows.messages import t


class Clock:
    def __init__(self, *, adjustable: bool = False, tz: str = "Asia/Shanghai") -> None:
        self.adjustable = adjustable
        self.tz: tzinfo = ZoneInfo(tz)
        self.offset = timedelta(0)

    def now(self) -> datetime:
        """Aware UTC datetime."""
        return datetime.now(UTC) + self.offset

    def today(self) -> date:
        """The date in the deployment's time zone (deadlines are local dates)."""
        return self.now().astimezone(self.tz).date()

    def set_offset(self, offset: timedelta) -> None:
        if offset and not self.adjustable:
            raise ClockNotAdjustable(
                t("此处的时钟不可调整（演示或测试部署可设 CLOCK_ADJUSTABLE=1）")
            )
        self.offset = offset


_DURATION = re.compile(r"^\s*(-?\d+)\s*([dhmw])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "w": "weeks"}


def parse_duration(text: str) -> timedelta:
    """'31d', '12h', '2w', '90m' → timedelta; anything else is refused by name."""
    match = _DURATION.match(text)
    if not match:
        raise ValidationFailed(
            t("无法识别时长 %(text)r", text=text),
            [
                {
                    "field": "duration",
                    "message": t("应为数字加单位 d、h、m 或 w，如 31d"),
                }
            ],
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
