"""The steps' time-limit alarms (`task_alarm`), fired by the scheduler: a reminder (临期提醒)
before the due date, a notice when the step falls overdue, and one when a 督办期限 passes.

Each alarm row fires exactly once: the sweep claims due rows (`FOR UPDATE SKIP LOCKED` on
PostgreSQL; SQLite has one writer), raises the notices and deletes the row in one
transaction. Nothing here takes work away: the step stays with whoever holds it (DOMAIN.md §4).
An alarm whose step is no longer open is dropped; one whose step's due date moved later is
moved with it. A failure opens an incident on the instance and is retried with its backoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.orm import Session

from workflows.cases.models import CaseFile
from workflows.engine import audit, functions, settings, time_limits
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.engine.incidents import service as incidents
from workflows.engine.models import HumanTask, TaskAlarm, table_of
from workflows.tasks import notifications

log = logging.getLogger(__name__)

ALARMS = table_of(TaskAlarm)
KIND_OF_NOTICE = {
    time_limits.REMIND: "due_soon",
    time_limits.OVERDUE: "overdue",
    time_limits.SUPERVISION: "overdue",
}


@dataclass(frozen=True)
class Claim:
    """How the sweep claims alarms; `lock=False` (tests' negative control only) reads them
    without a row lock, `dedupe=False` raises notices without their once-only key."""

    lock: bool = True
    dedupe: bool = True


def _due(session: Session, now: datetime, limit: int, claim: Claim) -> list[Any]:
    query = (
        select(ALARMS.c.id, ALARMS.c.instance_id, ALARMS.c.spiff_task_id, ALARMS.c.kind)
        .where(
            ALARMS.c.fire_at <= now,
            ~incidents.holds(ALARMS.c.instance_id, bindparam("now", now)),
        )
        .order_by(ALARMS.c.fire_at, ALARMS.c.id)
        .limit(limit)
    )
    if claim.lock and session.connection().dialect.name == "postgresql":
        query = query.with_for_update(of=ALARMS, skip_locked=True)
    return list(session.execute(query).all())


def sweep(db: Database, *, clock: Clock, batch: int = 200, claim: Claim = Claim()) -> int:
    """Fires every due alarm, a batch per transaction; returns how many notices it raised."""
    raised = 0
    while True:
        with db.transaction() as session:
            settings.sync_clock(session, clock)
            rows = _due(session, clock.now(), batch, claim)
            calendar = functions.LazyCalendar(session)
            for row in rows:
                raised += _fire_guarded(session, row, calendar=calendar, clock=clock, claim=claim)
        if len(rows) < batch:
            return raised


def _fire_guarded(session: Session, row: Any, *, calendar: Any, clock: Clock, claim: Claim) -> int:
    savepoint = session.begin_nested()
    try:
        count = _fire(session, row, calendar=calendar, clock=clock, claim=claim)
        savepoint.commit()
        return count
    except Exception as err:  # one alarm's failure must not stop the others
        savepoint.rollback()
        log.exception("time-limit alarm %s failed", row.id)
        incidents.record_failure(
            session,
            instance_id=row.instance_id,
            element=None,
            message=f"办理时限提醒失败：{err}",
            clock=clock,
            detail={"alarm": row.id, "kind": row.kind},
        )
        return 0


def _fire(session: Session, row: Any, *, calendar: Any, clock: Clock, claim: Claim) -> int:
    now = clock.now()
    task = session.execute(
        select(HumanTask).where(
            HumanTask.instance_id == row.instance_id,
            HumanTask.spiff_task_id == row.spiff_task_id,
            HumanTask.state == "open",
        )
    ).scalar_one_or_none()
    drop = delete(ALARMS).where(ALARMS.c.id == row.id)
    if task is None:  # the step was completed or cancelled meanwhile
        session.execute(drop)
        return 0
    moment = task.supervision_due_at if row.kind == time_limits.SUPERVISION else task.due_at
    if moment is None or (row.kind == time_limits.REMIND and moment <= now):
        session.execute(drop)  # nothing to wait for any more, or the overdue notice will do
        return 0
    if row.kind != time_limits.REMIND and moment > now:  # moved later: wait for it
        session.execute(update(ALARMS).where(ALARMS.c.id == row.id).values(fire_at=moment))
        return 0
    case = session.execute(
        select(CaseFile.id, CaseFile.number).where(CaseFile.instance_id == task.instance_id)
    ).first()
    title, body = _notice(row.kind, task, case, calendar=calendar, clock=clock)
    kind = KIND_OF_NOTICE[row.kind]
    told = []
    for username in notifications.recipients(session, task_id=task.id):
        added = notifications.notify(
            session,
            username=username,
            kind=kind,
            title=title,
            body=body,
            task_id=task.id,
            case_id=case.id if case else None,
            dedupe=f"{row.kind}:{task.id}:{username}:{moment.isoformat()}"
            if claim.dedupe
            else None,
            clock=clock,
        )
        if added is not None:
            told.append(username)
    session.execute(drop)
    audit.record(
        session,
        at=now,
        actor="scheduler",
        action=f"task.{row.kind}_alarm",
        object_type="task",
        object_id=task.id,
        instance_id=task.instance_id,
        detail={"due_at": moment.isoformat(), "notified": told},
    )
    return len(told)


def _notice(
    kind: str, task: HumanTask, case: Any, *, calendar: Any, clock: Clock
) -> tuple[str, str]:
    where = f"（{case.number}）" if case else ""
    basis = f"（{task.due_basis}）" if task.due_basis else ""
    due = time_limits.due_day(task.due_at, clock) if task.due_at else None
    if kind == time_limits.REMIND:
        return (
            f"临期提醒：{task.name}{where}",
            f"办理期限 {due}{basis}，请在期限内办理。",
        )
    if kind == time_limits.SUPERVISION:
        assert task.supervision_due_at is not None
        limit = time_limits.due_day(task.supervision_due_at, clock)
        return (
            f"督办期限已过：{task.name}{where}",
            f"督办期限 {limit} 已过（原办理期限 {due}），本步骤仍由你办理，请尽快办结。",
        )
    days = time_limits.overdue_workdays(task.due_at, clock.now(), calendar, clock)
    return (
        f"已逾期：{task.name}{where}",
        f"办理期限 {due}{basis}已过，逾期 {days} 个工作日；本步骤仍由你办理，请尽快办结。",
    )


def schedule_supervision(session: Session, *, task: HumanTask, until: datetime) -> None:
    """A 督办期限 for an open step: shown beside its due date, with an alarm when it passes."""
    session.execute(
        update(table_of(HumanTask))
        .where(table_of(HumanTask).c.id == task.id)
        .values(supervision_due_at=until)
    )
    session.execute(
        delete(ALARMS).where(
            and_(
                ALARMS.c.instance_id == task.instance_id,
                ALARMS.c.spiff_task_id == task.spiff_task_id,
                ALARMS.c.kind == time_limits.SUPERVISION,
            )
        )
    )
    session.execute(
        ALARMS.insert().values(
            instance_id=task.instance_id,
            spiff_task_id=task.spiff_task_id,
            kind=time_limits.SUPERVISION,
            fire_at=until,
        )
    )
