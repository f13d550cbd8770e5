"""办理时限 alarms under concurrency: three OS processes sweeping the steps' alarms of one
PostgreSQL database at once fire each alarm exactly once — one overdue notice per step and
recipient, one `task.overdue_alarm` audit row per step, no alarm left — with a negative control
that sweeps without the row claim and the notices' once-only key and shows the duplicates the
counts would catch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import set_clock
from tests.support import start_line
from tests.support.world import World, make_world
from workflows.engine import audit
from workflows.engine.models import AuditEvent, HumanTask, TaskAlarm
from workflows.runtime import Runtime
from workflows.tasks import notifications
from workflows.tasks.models import Notification

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
CASES = 35
BATCH = 10  # small batches: the workers take turns claiming, so each gets some of the work
REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
LATE = "2026-04-17 10:00"  # investigate and consider_tolerance fall due at the end of 04-14


@dataclass(frozen=True)
class Counted:
    overdue: Counter[tuple[int | None, str]]  # overdue notices per (task, recipient)
    due_soon: int
    audited: Counter[str]  # `task.overdue_alarm` rows per task
    reminded: int  # `task.remind_alarm` rows
    alarms_left: int


@pytest.fixture
def pg_world(rt: Runtime) -> World:
    if rt.db.dialect != "postgresql":
        pytest.skip("SQLite admits one writer and one scheduler: the race is PostgreSQL's")
    return make_world(rt)


def _overdue_steps(world: World) -> dict[int, list[str]]:
    """CASES registered accountability cases, the clock moved past their steps' due dates:
    each open step (责任调查, 同步考虑容错情形) with whom its overdue notice goes to."""
    for _ in range(CASES):
        case = world.open("accountability", data=REGISTER)
        world.complete(case, "register", {"registered_on": "2026-03-02"}, "discipline.hf")
    rt = world.rt
    with rt.db.reading() as session:
        steps = session.execute(
            select(HumanTask.id).where(HumanTask.state == "open").order_by(HumanTask.id)
        ).scalars()
        told = {task_id: notifications.recipients(session, task_id=task_id) for task_id in steps}
    set_clock(rt, LATE)  # stored as the shared offset, which every worker's sweep adopts
    return told


def _run_workers(rt: Runtime, tmp_path: Path, mode: str) -> list[dict[str, Any]]:
    """Runs the alarm sweep in WORKERS processes at once; what each reported."""
    start_file = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.alarm_worker",
                mode,
                rt.db.url,
                str(BATCH),
                str(start_file),
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(WORKERS)
    ]
    start_line.release(start_file, len(procs))
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"worker failed: {out}\n{err[-3000:]}"
    reports: list[dict[str, Any]] = [json.loads(out) for out, _ in outputs]
    print(f"\n{mode}: {reports}")
    return reports


def _counted(rt: Runtime) -> Counted:
    with rt.db.reading() as session:
        notices = session.execute(
            select(Notification.task_id, Notification.username, Notification.kind)
        ).all()
        actions = session.execute(
            select(AuditEvent.object_id, AuditEvent.action).where(
                AuditEvent.action.in_(("task.overdue_alarm", "task.remind_alarm"))
            )
        ).all()
        left = session.execute(select(func.count()).select_from(TaskAlarm)).scalar_one()
    return Counted(
        overdue=Counter((n.task_id, n.username) for n in notices if n.kind == "overdue"),
        due_soon=sum(1 for n in notices if n.kind == "due_soon"),
        audited=Counter(a.object_id for a in actions if a.action == "task.overdue_alarm"),
        reminded=sum(1 for a in actions if a.action == "task.remind_alarm"),
        alarms_left=left,
    )


@pytest.mark.slow
def test_three_processes_sweeping_at_once_fire_every_alarm_exactly_once(
    pg_world: World, tmp_path: Path
) -> None:
    rt = pg_world.rt
    told = _overdue_steps(pg_world)
    expected = {(task_id, user) for task_id, users in told.items() for user in users}
    assert len(told) == 2 * CASES and len(expected) >= len(told)

    reports = _run_workers(rt, tmp_path, "product")

    counted = _counted(rt)
    raised = [int(r["raised"]) for r in reports]
    assert sum(raised) == len(expected)
    assert sum(1 for n in raised if n) >= 2, f"one process fired everything: {raised}"
    assert set(counted.overdue) == expected and set(counted.overdue.values()) == {1}
    assert counted.audited == Counter({str(task_id): 1 for task_id in told})
    # the reminders' moments passed unswept: the overdue notice stands for them
    assert (counted.due_soon, counted.reminded, counted.alarms_left) == (0, 0, 0)
    with rt.db.reading() as session:
        verified = audit.verify(session)
    assert verified.ok, verified


@pytest.mark.slow
def test_negative_control_without_the_claim_alarms_fire_twice_and_the_test_sees_it(
    pg_world: World, tmp_path: Path
) -> None:
    rt = pg_world.rt
    told = _overdue_steps(pg_world)
    expected = {(task_id, user) for task_id, users in told.items() for user in users}

    reports = _run_workers(rt, tmp_path, "unclaimed")

    counted = _counted(rt)
    twice = sorted(pair for pair, n in counted.overdue.items() if n > 1)
    print(f"{len(twice)} of {len(expected)} overdue notices raised more than once")
    assert set(counted.overdue) == expected  # every notice raised, and some more than once:
    assert sum(int(r["raised"]) for r in reports) == counted.overdue.total() > len(expected), (
        "no alarm fired twice: the race was not exercised"
    )
    assert any(n > 1 for n in counted.audited.values())
    assert counted.alarms_left == 0
