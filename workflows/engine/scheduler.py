"""The timer scheduler: an APScheduler interval job around `timers.sweep`, and one per
periodic job the domain registered (e.g. the due-soon and overdue notification sweep).

SQLite allows one writer, so only one scheduler may run per database file: it holds
an exclusive OS lock on `<db>.scheduler.lock` for its lifetime and a second one
refuses to start. PostgreSQL schedulers coordinate through row locks and may run
side by side.
"""

from __future__ import annotations

import fcntl
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy.engine import make_url

from workflows.engine import hooks, timers
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.errors import SchedulerAlreadyRunning
from workflows.messages import t

log = logging.getLogger(__name__)


class SingleSchedulerLock:
    """Held while a scheduler runs on a SQLite file; a no-op on PostgreSQL."""

    def __init__(self, database_url: str) -> None:
        url = make_url(database_url)
        self.path: Path | None = None
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            self.path = Path(f"{url.database}.scheduler.lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open while the scheduler runs
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "?"
            handle.close()
            raise SchedulerAlreadyRunning(
                t(
                    "此 SQLite 数据库已有调度器在运行（进程 %(pid)s）；SQLite 只允许一个，"
                    "要运行多个请使用 PostgreSQL",
                    pid=holder,
                )
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _job(db: Database, clock: Clock) -> None:
    try:
        fired = timers.sweep(db, clock=clock)
        if fired:
            log.info("fired %d timer(s)", fired)
    except Exception:  # keep the scheduler alive; the next sweep retries
        log.exception("timer sweep failed")


def _periodic(job: hooks.PeriodicJob, db: Database, clock: Clock) -> None:
    try:
        changed = job.run(db, clock=clock)
        if changed:
            log.info("%s: %d row(s)", job.name, changed)
    except Exception:  # keep the scheduler alive; the next run retries
        log.exception("%s failed", job.name)


def _add_job(
    scheduler: BackgroundScheduler | BlockingScheduler, db: Database, clock: Clock, interval: float
) -> None:
    scheduler.add_job(
        _job,
        "interval",
        seconds=interval,
        args=(db, clock),
        id="timer-sweep",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(UTC),
    )
    for job in hooks.REGISTRY.periodic:
        scheduler.add_job(
            _periodic,
            "interval",
            seconds=max(interval, job.min_interval),
            args=(job, db, clock),
            id=job.name,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )


def start_background(
    db: Database, clock: Clock, interval: float
) -> tuple[BackgroundScheduler, SingleSchedulerLock]:
    """For `cadreflow serve`: the scheduler inside the web process."""
    lock = SingleSchedulerLock(db.url)
    lock.acquire()
    scheduler = BackgroundScheduler(timezone="UTC")
    _add_job(scheduler, db, clock, interval)
    scheduler.start()
    return scheduler, lock


def run_forever(db: Database, clock: Clock, interval: float) -> None:
    """For `cadreflow scheduler`: blocks until interrupted."""
    lock = SingleSchedulerLock(db.url)
    lock.acquire()
    try:
        scheduler = BlockingScheduler(timezone="UTC")
        _add_job(scheduler, db, clock, interval)
        scheduler.start()
    finally:
        lock.release()
