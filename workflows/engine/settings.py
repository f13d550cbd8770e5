"""Deployment settings stored in the database, and the adjustable clock's offset."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from workflows.engine.clock import Clock
from workflows.engine.models import Setting
from workflows.errors import ClockNotAdjustable
from workflows.messages import t

CLOCK_OFFSET = "clock.offset_seconds"


def get(session: Session, key: str, default: Any = None) -> Any:
    row = session.get(Setting, key)
    return default if row is None else json.loads(row.value)


def put(session: Session, key: str, value: Any) -> None:
    """Creates or replaces one setting; flushes."""
    row = session.get(Setting, key)
    text = json.dumps(value, ensure_ascii=False)
    if row is None:
        session.add(Setting(key=key, value=text))
    else:
        row.value = text
    session.flush()


def sync_clock(session: Session, clock: Clock) -> None:
    """Adopts the offset every process shares (only an adjustable clock has one)."""
    if clock.adjustable:
        clock.set_offset(timedelta(seconds=float(get(session, CLOCK_OFFSET, 0))))


def move_clock(
    session: Session, clock: Clock, *, by: timedelta | None = None, to: datetime | None = None
) -> datetime:
    """Moves the shared clock forward (or to a moment); refused unless adjustable."""
    if not clock.adjustable:
        raise ClockNotAdjustable(t("只有设了 CLOCK_ADJUSTABLE=1 的部署（演示和测试）才能调整时钟"))
    sync_clock(session, clock)
    if to is not None:
        offset = clock.offset + (to - clock.now())
    else:
        offset = clock.offset + (by or timedelta(0))
    put(session, CLOCK_OFFSET, offset.total_seconds())
    clock.set_offset(offset)
    return clock.now()
