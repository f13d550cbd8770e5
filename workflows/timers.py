"""Firing due timers: the scheduler's sweep.

On PostgreSQL due rows are claimed with FOR UPDATE SKIP LOCKED, so several sweeps in
several processes never fire one timer twice. SQLite has a single writer and runs one
scheduler only (see `scheduler.py`). Each timer fires inside a savepoint: one broken
instance is recorded and retried later without holding up the others.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import audit, instances, settings
from .clock import Clock
from .db import Database
from .errors import DomainError
from .models import Timer

log = logging.getLogger(__name__)

RETRY_AFTER = timedelta(minutes=5)


def fire(session: Session, *, timer: Timer, clock: Clock, actor: str = "scheduler") -> None:
    """Fires one due timer through the locked `advance` path; flushes."""
    instance = instances.lock_instance(session, timer.instance_id)
    instances.advance(session, instance=instance, clock=clock, step=instances.Step(
        action="timer.fire", actor=actor, object_type="timer", object_id=timer.id,
        apply=lambda run: run.fire_timers(),
        detail={"element": timer.task_spec, "kind": timer.kind, "fire_at": timer.fire_at.isoformat()},
    ))


def _claim(session: Session, *, clock: Clock, batch: int, skip: set[int], lock: bool) -> list[Timer]:
    query = (
        select(Timer).where(Timer.fire_at <= clock.now())
        .order_by(Timer.fire_at, Timer.id).limit(batch)
    )
    if skip:
        query = query.where(Timer.id.not_in(skip))
    if lock:
        query = query.with_for_update(skip_locked=True)
    return list(session.execute(query).scalars())


def sweep(db: Database, *, clock: Clock, batch: int = 100, lock: bool = True,
          actor: str = "scheduler") -> int:
    """Fires every timer due now, batch by batch, each batch its own transaction.

    `lock=False` exists only for the negative control test that shows why the lock is needed."""
    fired = 0
    attempted: set[int] = set()
    while True:
        with db.transaction() as session:
            settings.sync_clock(session, clock)
            due = _claim(session, clock=clock, batch=batch, skip=attempted, lock=lock)
            if not due:
                return fired
            for timer in due:
                attempted.add(timer.id)
                try:
                    with session.begin_nested():
                        fire(session, timer=timer, clock=clock, actor=actor)
                    fired += 1
                except DomainError as err:
                    log.warning("timer %s of instance %s failed: %s", timer.id, timer.instance_id, err)
                    _postpone(session, timer=timer, clock=clock, reason=str(err))


def _postpone(session: Session, *, timer: Timer, clock: Clock, reason: str) -> None:
    now = clock.now()
    row = session.get(Timer, timer.id)
    if row is not None:
        row.fire_at = now + RETRY_AFTER
    audit.record(session, at=now, actor="scheduler", action="timer.error", object_type="timer",
                 object_id=timer.id, instance_id=timer.instance_id, detail={"reason": reason})
