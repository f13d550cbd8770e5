"""Timers: several scheduler processes fire each timer exactly once (PostgreSQL), the
negative control without the row lock does not, boundary timers follow the moved clock,
SQLite admits one scheduler only, and a failing timer becomes an incident without holding
up the others (more in tests/domain/test_incidents.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from tests.conftest import FORMS, advance_clock, at, set_clock
from tests.support import deploy, instance, open_tasks, start, sweep, task_named, timer_rows
from workflows.definitions import deployment
from workflows.engine import audit, instances, timers
from workflows.engine.calendar import WorkCalendar
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.engine.incidents import service as incident_service
from workflows.engine.incidents.models import Incident
from workflows.engine.models import AuditEvent, CalendarYear, HumanTask, Instance, Timer
from workflows.engine.scheduler import SingleSchedulerLock
from workflows.errors import SchedulerAlreadyRunning
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
CADREFLOW = Path(sys.executable).with_name("cadreflow")
SHANGHAI = ZoneInfo("Asia/Shanghai")
BULK_TIMERS = 2000
CONTROL_TIMERS = 300
START_BATCH = 200
BEFORE_NEW_YEAR = "2026-12-01 09:00"
AFTER_NEW_YEAR = "2027-01-02 09:00"
REGISTERED_ON = date(2026, 11, 2)

only_postgresql = pytest.mark.parametrize("database", ["postgresql"], indirect=True)
only_sqlite = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _start_many(rt: Runtime, process: str, count: int) -> float:
    """Starts `count` instances, START_BATCH per transaction; returns the seconds it took."""
    began = time.monotonic()
    for offset in range(0, count, START_BATCH):
        with rt.transaction() as session:
            version = deployment.latest(session, process_key=process)
            for _ in range(min(START_BATCH, count - offset)):
                instances.start(
                    session,
                    version=version,
                    data={},
                    org_unit="hefei",
                    actor="tester",
                    clock=rt.clock,
                )
    return time.monotonic() - began


def _fire_counts(rt: Runtime) -> Counter[str]:
    """`timer.fire` audit rows per instance: a sweep fires an instance's due timers at once."""
    with rt.db.reading() as session:
        rows = session.execute(
            select(AuditEvent.object_id, func.count())
            .where(AuditEvent.action == "timer.fire")
            .group_by(AuditEvent.object_id)
        ).all()
    return Counter({object_id: count for object_id, count in rows})


def _timer_ids(rt: Runtime) -> set[str]:
    with rt.db.reading() as session:
        return {str(i) for i in session.execute(select(Timer.instance_id)).scalars()}


def _cli_env(rt: Runtime) -> dict[str, str]:
    return {
        **os.environ,
        "CADREFLOW_DATABASE_URL": rt.db.url,
        "CADREFLOW_FORMS_DIR": str(FORMS),
        "CLOCK_ADJUSTABLE": "1",
    }


# --- a) several scheduler processes, PostgreSQL --------------------------------------------


@pytest.mark.slow
@only_postgresql
def test_two_scheduler_processes_fire_each_of_2000_timers_exactly_once(rt: Runtime) -> None:
    assert CADREFLOW.exists(), f"console script not found at {CADREFLOW}"
    set_clock(rt, BEFORE_NEW_YEAR)
    deploy(rt, "bulk_timer.bpmn")
    setup_seconds = _start_many(rt, "bulk_timer", BULK_TIMERS)
    print(f"\nstarted {BULK_TIMERS} instances in {setup_seconds:.1f}s")
    assert setup_seconds < 60, f"setup took {setup_seconds:.1f}s"
    waiting = _timer_ids(rt)
    assert len(waiting) == BULK_TIMERS
    assert sweep(rt) == 0  # nothing is due before the new year
    set_clock(rt, AFTER_NEW_YEAR)

    began = time.monotonic()
    procs = [
        subprocess.Popen(
            [str(CADREFLOW), "scheduler", "--once", "--batch", "50"],
            cwd=ROOT,
            env=_cli_env(rt),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [(*proc.communicate(timeout=300), proc.returncode) for proc in procs]
    print(f"two schedulers fired {BULK_TIMERS} timers in {time.monotonic() - began:.1f}s")

    fired = []
    for out, err, code in outputs:
        assert code == 0, (out, err)
        match = re.search(r"fired (\d+) timer\(s\)", out)
        assert match, out
        fired.append(int(match.group(1)))
    print(f"fired per process: {fired}")
    assert all(n > 0 for n in fired), f"one scheduler got no work, concurrency not shown: {fired}"
    assert sum(fired) == BULK_TIMERS
    with rt.db.reading() as session:
        assert session.execute(select(func.count()).select_from(Timer)).scalar_one() == 0
        statuses = Counter(session.execute(select(Instance.status)).scalars())
        assert statuses == {"completed": BULK_TIMERS}
    counts = _fire_counts(rt)
    assert set(counts) == waiting
    assert set(counts.values()) == {1}
    assert sum(counts.values()) == BULK_TIMERS
    with rt.db.reading() as session:
        result = audit.verify(session)
    assert result.ok, result
    assert result.checked == 1 + BULK_TIMERS * 2  # deploy, each start, each fire


# --- b) the negative control: without the row lock timers fire twice ---------------------


@only_postgresql
def test_sweeps_without_row_lock_fire_some_timer_twice(rt: Runtime) -> None:
    set_clock(rt, BEFORE_NEW_YEAR)
    deploy(rt, "bulk_timer.bpmn")
    _start_many(rt, "bulk_timer", CONTROL_TIMERS)
    set_clock(rt, AFTER_NEW_YEAR)

    barrier = threading.Barrier(2)
    fired: dict[int, int | BaseException] = {}

    def unlocked_sweep(n: int) -> None:
        db = Database(rt.db.url)
        clock = Clock(adjustable=True, tz="Asia/Shanghai")
        try:
            barrier.wait(timeout=10)
            fired[n] = timers.sweep(db, clock=clock, batch=CONTROL_TIMERS, lock=False)
        except BaseException as err:  # noqa: BLE001 - reported by the assertion below
            fired[n] = err
        finally:
            db.dispose()

    threads = [threading.Thread(target=unlocked_sweep, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads)

    assert len(fired) == 2 and all(isinstance(n, int) for n in fired.values()), fired
    counts = _fire_counts(rt)
    twice = [object_id for object_id, count in counts.items() if count > 1]
    print(
        f"\nunlocked sweeps reported {fired}; {len(twice)} of {CONTROL_TIMERS} timers fired twice"
    )
    assert twice, f"no timer fired twice without the lock ({fired}): the control proves nothing"
    assert sum(n for n in fired.values() if isinstance(n, int)) > CONTROL_TIMERS


# --- c) boundary timers and the moved clock (both backends) -----------------------------------


CAL = WorkCalendar(override_years=frozenset({2027}))
REMINDER_DAY = CAL.add_workdays(REGISTERED_ON, 25)
DEADLINE_DAY = CAL.add_workdays(REGISTERED_ON, 30)


def _end_of_day(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), dtime(0), SHANGHAI)


def _start_deadline_case(rt: Runtime) -> int:
    with rt.db.transaction() as session:
        session.add(CalendarYear(year=2027, note="test: declared"))
    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    return start(rt, "deadline", {"registered_on": REGISTERED_ON.isoformat()})


def _tasks_by_element(rt: Runtime, instance_id: int) -> dict[str, list[HumanTask]]:
    with rt.db.reading() as session:
        rows = (
            session.execute(
                select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)
            )
            .scalars()
            .all()
        )
    found: dict[str, list[HumanTask]] = {}
    for row in rows:
        found.setdefault(row.task_spec, []).append(row)
    return found


def test_clock_moved_past_deadline_fires_interrupting_boundary_and_escalates(rt: Runtime) -> None:
    iid = _start_deadline_case(rt)
    assert task_named(rt, "investigate", iid).due_at == _end_of_day(DEADLINE_DAY)

    advance_clock(rt, days=60)
    assert sweep(rt) >= 1

    tasks = _tasks_by_element(rt, iid)
    assert [t.state for t in tasks["investigate"]] == ["cancelled"]
    assert [(t.state, t.role) for t in tasks["escalate"]] == [("open", "supervisor")]
    assert "decide" not in tasks
    assert timer_rows(rt, iid) == []
    assert set(_fire_counts(rt).values()) == {1}


def test_clock_between_reminder_and_deadline_opens_reminder_and_keeps_investigation(
    rt: Runtime,
) -> None:
    iid = _start_deadline_case(rt)
    due_before = task_named(rt, "investigate", iid).due_at
    assert due_before == _end_of_day(DEADLINE_DAY)
    assert {t.task_spec: t.fire_at for t in timer_rows(rt, iid)} == {
        "due_soon": _end_of_day(REMINDER_DAY),
        "overdue": _end_of_day(DEADLINE_DAY),
    }

    # One minute before the reminder's moment nothing is due yet.
    set_clock(rt, (_end_of_day(REMINDER_DAY) - timedelta(minutes=1)).isoformat())
    assert sweep(rt) == 0
    assert [t.task_spec for t in open_tasks(rt, iid)] == ["investigate"]

    set_clock(rt, f"{REMINDER_DAY + timedelta(days=1)} 12:00")
    assert at(f"{REMINDER_DAY + timedelta(days=1)} 12:00") < _end_of_day(DEADLINE_DAY)
    assert sweep(rt) == 1

    assert sorted(t.task_spec for t in open_tasks(rt, iid)) == ["investigate", "remind"]
    assert task_named(rt, "investigate", iid).due_at == due_before
    remaining = timer_rows(rt, iid)
    assert [(t.task_spec, t.kind, t.fire_at) for t in remaining] == [
        ("overdue", "boundary", _end_of_day(DEADLINE_DAY))
    ]
    assert instance(rt, iid).status == "running"


# --- d) one scheduler per SQLite file ---------------------------------------------------------


@only_sqlite
def test_sqlite_second_scheduler_refuses_to_start_until_the_first_releases(rt: Runtime) -> None:
    first = SingleSchedulerLock(rt.db.url)
    first.acquire()
    try:
        with pytest.raises(SchedulerAlreadyRunning) as refused:
            SingleSchedulerLock(rt.db.url).acquire()
        message = str(refused.value)
        assert "已有调度器在运行" in message
        assert f"进程 {os.getpid()}" in message
        assert "PostgreSQL" in message

        # A scheduler process is refused the same way, with exit status 1.
        proc = subprocess.run(
            [str(CADREFLOW), "scheduler", "--once"],
            cwd=ROOT,
            env=_cli_env(rt),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        assert "已有调度器在运行" in proc.stderr
    finally:
        first.release()

    again = SingleSchedulerLock(rt.db.url)
    again.acquire()
    again.release()


@only_postgresql
def test_postgresql_schedulers_may_run_side_by_side(rt: Runtime) -> None:
    first, second = SingleSchedulerLock(rt.db.url), SingleSchedulerLock(rt.db.url)
    first.acquire()
    try:
        second.acquire()
        second.release()
    finally:
        first.release()
    assert first.path is None and second.path is None


# --- e) a failing timer does not stop the sweep (both backends) -------------------------------


def test_failing_timer_becomes_an_incident_and_does_not_stop_the_others(rt: Runtime) -> None:
    set_clock(rt, BEFORE_NEW_YEAR)
    deploy(rt, "bulk_timer.bpmn", "bulk_bad_timer.bpmn")
    bad = start(rt, "bulk_bad_timer", {"divisor": 0})  # started first: its timer is swept first
    good = start(rt, "bulk_timer")
    [bad_timer] = timer_rows(rt, bad)
    [good_timer] = timer_rows(rt, good)
    assert bad_timer.fire_at == good_timer.fire_at
    assert bad_timer.id < good_timer.id
    bad_before = instance(rt, bad)

    set_clock(rt, AFTER_NEW_YEAR)
    assert sweep(rt) == 1
    now = rt.clock.now()

    assert instance(rt, good).status == "completed"
    assert timer_rows(rt, good) == []
    bad_after = instance(rt, bad)
    assert (bad_after.status, bad_after.version, bad_after.state) == (
        bad_before.status,
        bad_before.version,
        bad_before.state,
    )
    [held] = timer_rows(rt, bad)  # held by the incident, its due time unchanged
    assert (held.id, held.fire_at) == (bad_timer.id, bad_timer.fire_at)
    with rt.db.reading() as session:
        [incident] = session.execute(select(Incident)).scalars().all()
        assert (incident.instance_id, incident.status, incident.attempts) == (bad, "open", 1)
        assert incident.element == "compute_ratio"
        assert "division by zero" in incident.message
        assert (
            now - timedelta(seconds=5) < incident.next_retry_at - incident_service.RETRY_BASE <= now
        )
        errors = (
            session.execute(select(AuditEvent).where(AuditEvent.action == "timer.error"))
            .scalars()
            .all()
        )
        assert [(e.object_id, e.instance_id) for e in errors] == [(str(bad), bad)]
        assert "division by zero" in errors[0].detail
        assert audit.verify(session).ok
    assert _fire_counts(rt) == Counter({str(good): 1})

    # Held, not dropped: not retried at once, but again once the backoff has passed.
    assert sweep(rt) == 0
    advance_clock(rt, seconds=incident_service.RETRY_BASE.total_seconds() + 1)
    assert sweep(rt) == 0
    with rt.db.reading() as session:
        retried = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "timer.error")
        ).scalar_one()
        [incident] = session.execute(select(Incident)).scalars().all()
    assert retried == 2
    assert incident.attempts == 2
    assert instance(rt, bad).version == bad_before.version
