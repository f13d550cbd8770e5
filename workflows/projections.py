"""Projections of instance state that queries read: human tasks and timers.

They are diffed between the engine's snapshots before and after a step and written
without being read back; only `instances.advance` calls these.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, bindparam, delete, insert, update

from . import engine
from .models import HumanTask, Timer

TASKS = HumanTask.__table__
TIMERS = Timer.__table__

_CANCEL_TASKS = (
    update(TASKS)
    .where(TASKS.c.instance_id == bindparam("iid"), TASKS.c.state == "open",
           TASKS.c.spiff_task_id.in_(bindparam("sids", expanding=True)))
    .values(state="cancelled", completed_at=bindparam("now"))
)
_RESCHEDULE_TASK = (
    update(TASKS)
    .where(TASKS.c.instance_id == bindparam("iid"), TASKS.c.state == "open",
           TASKS.c.spiff_task_id == bindparam("sid"))
    .values(due_at=bindparam("due"))
)
_DELETE_TIMERS = delete(TIMERS).where(
    TIMERS.c.instance_id == bindparam("iid"),
    TIMERS.c.spiff_task_id.in_(bindparam("sids", expanding=True)),
)
_RESCHEDULE_TIMER = (
    update(TIMERS)
    .where(TIMERS.c.instance_id == bindparam("iid"), TIMERS.c.spiff_task_id == bindparam("sid"))
    .values(fire_at=bindparam("at"))
)
_INSERT_TASKS = insert(TASKS)
_INSERT_TIMERS = insert(TIMERS)


def sync_tasks(conn: Connection, *, instance_id: int, process_key: str, org_unit: str | None,
               before: engine.Snapshot, after: engine.Snapshot, now: datetime,
               completed: str | None = None) -> None:
    gone = [sid for sid in before.ready if sid not in after.ready and sid != completed]
    if gone:
        conn.execute(_CANCEL_TASKS, {"iid": instance_id, "sids": gone, "now": now})
    for sid, task in after.ready.items():
        if sid in before.ready and before.ready[sid].due_at != task.due_at:
            conn.execute(_RESCHEDULE_TASK, {"iid": instance_id, "sid": sid, "due": task.due_at})
    new = [task for sid, task in after.ready.items() if sid not in before.ready]
    if new:
        conn.execute(_INSERT_TASKS, [
            {"instance_id": instance_id, "process_key": process_key, "spiff_task_id": task.id,
                 "task_spec": task.element, "name": task.name, "role": task.lane, "org_unit": org_unit,
                 "assignee": None, "form": task.form, "state": "open", "created_at": now, "due_at": task.due_at,
                 "due_basis": None, "completed_at": None, "completed_by": None}
            for task in new
        ])


def sync_timers(conn: Connection, *, instance_id: int, before: engine.Snapshot,
                after: engine.Snapshot) -> None:
    gone = [sid for sid in before.timers if sid not in after.timers]
    if gone:
        conn.execute(_DELETE_TIMERS, {"iid": instance_id, "sids": gone})
    for sid, timer in after.timers.items():
        if sid in before.timers and before.timers[sid].fire_at != timer.fire_at:
            conn.execute(_RESCHEDULE_TIMER, {"iid": instance_id, "sid": sid, "at": timer.fire_at})
    new = [timer for sid, timer in after.timers.items() if sid not in before.timers]
    if new:
        conn.execute(_INSERT_TIMERS, [
            {"instance_id": instance_id, "spiff_task_id": t.task_id, "task_spec": t.element,
                 "kind": t.kind, "fire_at": t.fire_at}
            for t in new
        ])
