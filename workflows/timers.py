"""Firing due timers: the scheduler's sweep.

The sweep claims *instances* with due timers, not timer rows: the instance lock is the
one lock every change takes, so claiming it with FOR UPDATE SKIP LOCKED (PostgreSQL)
lets several sweeps in several processes share the work without ever firing an
instance's timers twice, and in the same lock order as a clerk completing a task
(instance, then its projections, then the audit head at commit) — no deadlocks.
SQLite has one writer and runs one scheduler only (see `scheduler.py`).

Each instance fires inside a savepoint: one that fails is postponed and recorded
without holding up the others.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from . import audit, instances, settings
from .clock import Clock
from .db import Database
from .models import Instance, Timer, table_of

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=5)
_TIMERS = table_of(Timer)
_INSTANCES = table_of(Instance)
_DUE = (
    select(_INSTANCES.c.id)
    .join_from(_INSTANCES, _TIMERS, _TIMERS.c.instance_id == _INSTANCES.c.id)
    .where(_TIMERS.c.fire_at <= bindparam("now"))
    .order_by(_TIMERS.c.fire_at, _TIMERS.c.id)
    .limit(bindparam("n"))
)
_DUE_NOT_TRIED = _DUE.where(_INSTANCES.c.id.not_in(bindparam("tried", expanding=True)))
_DUE_OF_INSTANCE = (
    select(_TIMERS.c.id, _TIMERS.c.task_spec, _TIMERS.c.kind, _TIMERS.c.fire_at)
    .where(_TIMERS.c.instance_id == bindparam("iid"), _TIMERS.c.fire_at <= bindparam("now"))
    .order_by(_TIMERS.c.fire_at)
)
_POSTPONE = (
    update(_TIMERS)
    .where(_TIMERS.c.instance_id == bindparam("iid"), _TIMERS.c.fire_at <= bindparam("now"))
    .values(fire_at=bindparam("later"))
)


def fire(session: Session, *, instance_id: int, clock: Clock, actor: str = "scheduler",
         recheck: bool = True) -> int:
    """Fires an instance's due timers through the locked `advance` path; returns how many.

    Due timers are read again under the lock: another sweep may have fired them."""
    instance = instances.lock_instance(session, instance_id)
    now = clock.now()
    due = session.connection().execute(_DUE_OF_INSTANCE, {"iid": instance_id, "now": now}).all()
    if not due and recheck:
        return 0
    instances.advance(session, instance=instance, clock=clock, step=instances.Step(
        action="timer.fire", actor=actor, apply=lambda run: run.fire_timers(),
        detail={"timers": [{"id": t.id, "element": t.task_spec, "kind": t.kind,
                            "fire_at": t.fire_at.isoformat()} for t in due]},
    ))
    return len(due)


def _claim(session: Session, *, clock: Clock, batch: int, tried: set[int], lock: bool) -> list[int]:
    query = _DUE_NOT_TRIED if tried else _DUE
    if lock:
        query = query.with_for_update(of=_INSTANCES, skip_locked=True)
    params = {"now": clock.now(), "n": batch, "tried": sorted(tried)}
    ids = session.connection().execute(query, params).scalars()
    return list(dict.fromkeys(ids))  # an instance with two due timers appears twice


def sweep(db: Database, *, clock: Clock, batch: int = 100, lock: bool = True,
          actor: str = "scheduler") -> int:
    """Fires every timer due now, batch by batch, each batch its own transaction.

    `lock=False` is a naive sweep (no claim lock, no re-check) kept only for the negative
    control test that shows why the lock is needed."""
    fired = 0
    tried: set[int] = set()
    while True:
        with db.transaction() as session:
            settings.sync_clock(session, clock)
            due = _claim(session, clock=clock, batch=batch, tried=tried, lock=lock)
            if not due:
                return fired
            for instance_id in due:
                tried.add(instance_id)
                point = audit.mark(session)
                try:
                    with session.begin_nested():
                        fired += fire(session, instance_id=instance_id, clock=clock, actor=actor,
                                      recheck=lock) or (0 if lock else 1)
                except Exception as err:  # noqa: BLE001 - one broken instance must not stall the others
                    audit.discard_since(session, point)
                    log.warning("timers of instance %s failed: %s", instance_id, err)
                    _postpone(session, instance_id=instance_id, clock=clock, reason=str(err))


def _postpone(session: Session, *, instance_id: int, clock: Clock, reason: str) -> None:
    now = clock.now()
    session.connection().execute(_POSTPONE, {"iid": instance_id, "now": now, "later": now + RETRY_AFTER})
    audit.record(session, at=now, actor="scheduler", action="timer.error", object_type="instance",
                 object_id=instance_id, instance_id=instance_id,
                 detail={"reason": reason.splitlines()[0] if reason else "", "retry_after": str(RETRY_AFTER)})
