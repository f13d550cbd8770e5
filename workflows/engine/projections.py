"""Projections of instance state that queries read: human tasks and timers.

They are diffed between the engine's snapshots before and after a step and written
without being read back; only `instances.advance` writes them. The writes of one step
go out as a `Batch`: on PostgreSQL one statement (data-modifying CTEs around the
instance's state update), elsewhere one statement each.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Connection, Table, bindparam, delete, insert, update
from sqlalchemy.sql.dml import Delete, Insert, Update

from workflows.engine import spiff as engine
from workflows.engine import time_limits
from workflows.engine.models import HumanTask, TaskAlarm, Timer, table_of
from workflows.engine.prepared import Prepared, family

TASKS = table_of(HumanTask)
TIMERS = table_of(Timer)
ALARMS = table_of(TaskAlarm)

COMPLETE_TASK = Prepared(
    "projections.complete_task",
    update(TASKS)
    .where(TASKS.c.id == bindparam("tid"), TASKS.c.state == "open")
    .values(state="completed", completed_at=bindparam("now"), completed_by=bindparam("actor")),
)
_RESCHEDULE_TASK = Prepared(
    "projections.reschedule_task",
    update(TASKS)
    .where(
        TASKS.c.instance_id == bindparam("iid"),
        TASKS.c.state == "open",
        TASKS.c.spiff_task_id == bindparam("sid"),
    )
    .values(due_at=bindparam("due")),
)
_RESCHEDULE_TIMER = Prepared(
    "projections.reschedule_timer",
    update(TIMERS)
    .where(TIMERS.c.instance_id == bindparam("iid"), TIMERS.c.spiff_task_id == bindparam("sid"))
    .values(fire_at=bindparam("at")),
)


@family("projections.cancel_tasks")
def _cancel_tasks(count: int) -> Update:
    """Cancels `count` open tasks of an instance; parameters `iid`, `now`, `cancel_<i>`."""
    return (
        update(TASKS)
        .where(
            TASKS.c.instance_id == bindparam("iid"),
            TASKS.c.state == "open",
            TASKS.c.spiff_task_id.in_([bindparam(f"cancel_{i}") for i in range(count)]),
        )
        .values(state="cancelled", completed_at=bindparam("now"))
    )


@family("projections.delete_timers")
def _delete_timers(count: int) -> Delete:
    """Deletes `count` timers of an instance; parameters `iid`, `timer_<i>`."""
    return delete(TIMERS).where(
        TIMERS.c.instance_id == bindparam("iid"),
        TIMERS.c.spiff_task_id.in_([bindparam(f"timer_{i}") for i in range(count)]),
    )


def _listed(prefix: str, values: list[str]) -> dict[str, str]:
    return {f"{prefix}_{i}": value for i, value in enumerate(values)}


@family("projections.insert_rows")
def _insert_rows(table: Table, columns: tuple[str, ...], count: int) -> Insert:
    """An INSERT of `count` rows; parameters `<table>_<i>_<column>`."""
    return insert(table).values(
        [{c: bindparam(f"{table.name}_{i}_{c}") for c in columns} for i in range(count)]
    )


def _rows_params(table: Table, rows: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        f"{table.name}_{i}_{c}": value for i, row in enumerate(rows) for c, value in row.items()
    }


def add_rows(batch: Batch, table: Table, rows: list[dict[str, Any]]) -> None:
    """Inserts `rows` (all with the same keys) with a statement prepared once per row count."""
    batch.add(_insert_rows(table, tuple(rows[0]), len(rows)), **_rows_params(table, rows))


@family("projections.batch")
def _combined(final: Prepared, parts: tuple[Prepared, ...], ctes: tuple[Any, ...]) -> Update:
    """PostgreSQL's one statement for a step: `final` (the state update) with each part as a
    data-modifying CTE, and `ctes` (the audit append) beside them."""
    statement: Update = final.statement  # type: ignore[assignment]
    return statement.add_cte(
        *(
            part.statement.cte(f"w{i}")  # type: ignore[attr-defined]
            for i, part in enumerate(parts)
        ),
        *ctes,
    )


class Batch:
    """The writes of one step, sent with the instance's state update. Statements are
    `Prepared` (module constants, or a family's shapes): see workflows/engine/prepared.py."""

    def __init__(self) -> None:
        self._parts: list[tuple[Prepared, dict[str, Any]]] = []
        self._singles: list[tuple[Prepared, dict[str, Any]]] = []
        self._ctes: list[Any] = []
        self._cte_params: dict[str, Any] = {}

    def add(self, statement: Prepared, **params: Any) -> None:
        """A write whose parameter names mean the same wherever they recur in the batch."""
        self._parts.append((statement, params))

    def add_ctes(self, ctes: list[Any], params: dict[str, Any]) -> None:
        """Prepared CTEs for PostgreSQL's combined statement (e.g. the audit append)."""
        self._ctes.extend(ctes)
        self._cte_params.update(params)

    def add_single(self, statement: Prepared, **params: Any) -> None:
        """A write that may repeat with other values: always its own statement."""
        self._singles.append((statement, params))

    def execute(self, conn: Connection, final: Prepared, params: dict[str, Any]) -> int:
        """Runs every write and `final`; returns `final`'s row count."""
        for statement, single in self._singles:
            statement.execute(conn, single)
        if conn.dialect.name == "postgresql" and (self._parts or self._ctes):
            merged: dict[str, Any] = dict(self._cte_params)
            for _part, part_params in self._parts:
                merged.update(part_params)
            return self._combined(final).execute(conn, {**merged, **params}).rowcount
        for part, part_params in self._parts:
            part.execute(conn, part_params)
        return final.execute(conn, params).rowcount

    def _combined(self, final: Prepared) -> Prepared:
        return _combined(final, tuple(part for part, _ in self._parts), tuple(self._ctes))


T = TypeVar("T")


def _diff(
    before: Mapping[str, T],
    after: Mapping[str, T],
    moment: Callable[[T], Any],
    keep: str | None = None,
) -> tuple[list[str], list[tuple[str, T]], list[T]]:
    """Ids gone, (id, item) whose moment changed, and new items, between two snapshots."""
    gone = [sid for sid in before if sid not in after and sid != keep]
    moved = [
        (sid, item)
        for sid, item in after.items()
        if sid in before and moment(before[sid]) != moment(item)
    ]
    new = [item for sid, item in after.items() if sid not in before]
    return gone, moved, new


def sync_tasks(
    batch: Batch,
    *,
    instance_id: int,
    process_key: str,
    org_unit: str | None,
    before: engine.Snapshot,
    after: engine.Snapshot,
    now: datetime,
    completed: str | None = None,
    dues: Mapping[str, time_limits.Due] | None = None,
) -> None:
    """Cancels, reschedules and adds the instance's open tasks; a new task gets its time
    limit from `dues` (with its reminder and overdue alarms) or the engine's own due date."""
    dues = dues or {}
    gone, moved, new = _diff(before.ready, after.ready, lambda t: t.due_at, keep=completed)
    if gone:  # the task just completed is no longer 'open' and keeps its state
        batch.add(_cancel_tasks(len(gone)), iid=instance_id, now=now, **_listed("cancel", gone))
    for sid, task in moved:
        batch.add_single(_RESCHEDULE_TASK, iid=instance_id, sid=sid, due=task.due_at)
    if new:
        add_rows(
            batch,
            TASKS,
            [
                {
                    "instance_id": instance_id,
                    "process_key": process_key,
                    "spiff_task_id": task.id,
                    "task_spec": task.element,
                    "name": task.name,
                    "role": task.lane,
                    "org_unit": org_unit,
                    "assignee": task.assignee,
                    "form": task.form,
                    "state": "open",
                    "created_at": now,
                    "due_at": dues[task.id].at if task.id in dues else task.due_at,
                    "due_basis": (dues[task.id].basis if task.id in dues else task.due_basis),
                    "completed_at": None,
                    "completed_by": None,
                    "supervision_due_at": None,
                }
                for task in new
            ],
        )
    alarms = [
        {"instance_id": instance_id, "spiff_task_id": sid, "kind": kind, "fire_at": at}
        for sid, due in dues.items()
        for kind, at in ((time_limits.REMIND, due.remind_at), (time_limits.OVERDUE, due.at))
        # a step that becomes available inside its reminder window is not reminded: its due
        # date shows from the start (and a progress report does not repeat the reminder)
        if at is not None and (kind == time_limits.OVERDUE or now < at)
    ]
    if alarms:
        add_rows(batch, ALARMS, alarms)


def sync_timers(
    batch: Batch, *, instance_id: int, before: engine.Snapshot, after: engine.Snapshot
) -> None:
    gone, moved, new = _diff(before.timers, after.timers, lambda t: t.fire_at)
    if gone:
        batch.add(_delete_timers(len(gone)), iid=instance_id, **_listed("timer", gone))
    for sid, timer in moved:
        batch.add_single(_RESCHEDULE_TIMER, iid=instance_id, sid=sid, at=timer.fire_at)
    if new:
        add_rows(
            batch,
            TIMERS,
            [
                {
                    "instance_id": instance_id,
                    "spiff_task_id": t.task_id,
                    "task_spec": t.element,
                    "kind": t.kind,
                    "fire_at": t.fire_at,
                }
                for t in new
            ],
        )
