"""Firing due timers: the scheduler's sweep.

The sweep claims *instances* with due timers, not timer rows: the instance lock is the
one lock every change takes, so claiming it with FOR UPDATE SKIP LOCKED (PostgreSQL)
lets several sweeps in several processes share the work without ever firing an
instance's timers twice, and in the same lock order as a clerk completing a task
(instance, then its projections, then the audit head at commit) — no deadlocks.
SQLite has one writer and runs one scheduler only (see `scheduler.py`).

Each instance fires inside a savepoint, under the engine's step budget: one that fails or
runs past its budget becomes an incident on its instance (`workflows/incidents`), retried
with backoff, and the sweep goes on with the others. A batch commits early once it has
taken longer than one step's budget, so no SQLite write lock is held for long.
"""

from __future__ import annotations

import logging
import time

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflows.engine import audit, instances, settings, timer_values
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.engine.incidents import service as incidents
from workflows.engine.models import Instance, Timer, table_of
from workflows.errors import DomainError

log = logging.getLogger(__name__)

_TIMERS = table_of(Timer)
_INSTANCES = table_of(Instance)
_DUE = (
    select(_INSTANCES.c.id)
    .join_from(_INSTANCES, _TIMERS, _TIMERS.c.instance_id == _INSTANCES.c.id)
    .where(
        _TIMERS.c.fire_at <= bindparam("now"), ~incidents.holds(_INSTANCES.c.id, bindparam("now"))
    )
    .order_by(_TIMERS.c.fire_at, _TIMERS.c.id)
    .limit(bindparam("n"))
)
_DUE_NOT_TRIED = _DUE.where(_INSTANCES.c.id.not_in(bindparam("tried", expanding=True)))
_DUE_OF_INSTANCE = (
    select(_TIMERS.c.id, _TIMERS.c.task_spec, _TIMERS.c.kind, _TIMERS.c.fire_at)
    .where(_TIMERS.c.instance_id == bindparam("iid"), _TIMERS.c.fire_at <= bindparam("now"))
    .order_by(_TIMERS.c.fire_at)
)


def fire(
    session: Session,
    *,
    instance_id: int,
    clock: Clock,
    actor: str = "scheduler",
    recheck: bool = True,
) -> int:
    """Fires an instance's due timers through the locked `advance` path; returns how many.

    Due timers are read again under the lock: another sweep may have fired them."""
    instance = instances.lock_instance(session, instance_id)
    now = clock.now()
    due = session.connection().execute(_DUE_OF_INSTANCE, {"iid": instance_id, "now": now}).all()
    if not due and recheck:
        return 0
    instances.advance(
        session,
        instance=instance,
        clock=clock,
        step=instances.Step(
            action="timer.fire",
            actor=actor,
            apply=lambda run: run.fire_timers(),
            detail={
                "timers": [
                    {
                        "id": t.id,
                        "element": t.task_spec,
                        "kind": t.kind,
                        "fire_at": t.fire_at.isoformat(),
                    }
                    for t in due
                ]
            },
        ),
    )
    return len(due)


def _claim(session: Session, *, clock: Clock, batch: int, tried: set[int], lock: bool) -> list[int]:
    query = _DUE_NOT_TRIED if tried else _DUE
    if lock:
        query = query.with_for_update(of=_INSTANCES, skip_locked=True)
    params = {"now": clock.now(), "n": batch, "tried": sorted(tried)}
    ids = session.connection().execute(query, params).scalars()
    return list(dict.fromkeys(ids))  # an instance with two due timers appears twice


def sweep(
    db: Database, *, clock: Clock, batch: int = 100, lock: bool = True, actor: str = "scheduler"
) -> int:
    """Fires every timer due now, batch by batch, each batch its own transaction; an instance
    whose firing fails or runs past the step budget gets an incident instead.

    `lock=False` is a naive sweep (no claim lock, no re-check) kept only for the negative
    control test that shows why the lock is needed."""
    fired = 0
    tried: set[int] = set()
    budget = engine.step_limits().seconds
    while True:
        with db.transaction() as session:
            settings.sync_clock(session, clock)
            due = _claim(session, clock=clock, batch=batch, tried=tried, lock=lock)
            if not due:
                return fired
            retrying = incidents.open_among(session, due)
            began = time.monotonic()
            for instance_id in due:
                if time.monotonic() - began > budget:
                    break  # commit what is done; the rest is claimed again by the next batch
                tried.add(instance_id)
                fired += _fire_one(
                    session,
                    instance_id=instance_id,
                    clock=clock,
                    actor=actor,
                    lock=lock,
                    retrying=instance_id in retrying,
                )


def _fire_one(
    session: Session, *, instance_id: int, clock: Clock, actor: str, lock: bool, retrying: bool
) -> int:
    """Fires one instance's due timers in a savepoint; a failure becomes (or counts on) its
    incident. Returns how many timers fired."""
    point = audit.mark(session)
    try:
        with session.begin_nested():
            count = fire(
                session, instance_id=instance_id, clock=clock, actor=actor, recheck=lock
            ) or (0 if lock else 1)
            if retrying:
                incidents.resolve(session, instance_id=instance_id, clock=clock, actor=actor)
            return count
    except Exception as err:  # noqa: BLE001 - one broken instance must not stall the others
        audit.discard_since(session, point)
        element, message = describe_failure(err)
        log.warning("timers of instance %s failed at %s: %s", instance_id, element, message)
        # In a savepoint of its own: its audit row is appended when the savepoint is released,
        # so the rollback of a later instance's savepoint cannot take it along.
        with session.begin_nested():
            incidents.record_failure(
                session,
                instance_id=instance_id,
                element=element,
                message=message,
                clock=clock,
                actor=actor,
            )
        return 0


def describe_failure(err: BaseException) -> tuple[str | None, str]:
    """The element a failure names, and its message for people: the engine's own words where
    they are already a sentence for people (a timer value refused, a budget exceeded), else
    where it failed and why; never a traceback."""
    element = getattr(err, "element", None)
    cause: BaseException | None = err
    while cause is not None:
        if isinstance(cause, engine.StepBudgetExceeded | timer_values.TimerValueRefused):
            return element or cause.element, cause.message
        cause = cause.__cause__
    if isinstance(err, DomainError):
        where = f"环节 {element} 出错" if element else "流程出错"
        return element, f"定时器触发后{where}：{err.message}"
    first = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return element, f"定时器触发时系统出错（{type(err).__name__}）" + (
        f"：{first}" if first else ""
    )
