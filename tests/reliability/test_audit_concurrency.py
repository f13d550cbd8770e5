"""The audit trail under concurrency: several OS processes completing different tasks at
once leave exactly one `task.complete` row per completion, and `audit verify` agrees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.conftest import FORMS, set_clock
from tests.support import deploy, start, start_line, task_named
from workflows.engine import audit
from workflows.engine.models import AuditEvent, HumanTask
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 3
TASKS = 300


def _run_workers(
    rt: Runtime, task_ids: list[int], tmp_path: Path, mode: str = "product"
) -> dict[str, int]:
    start_file = tmp_path / "go"
    shares = [task_ids[i::WORKERS] for i in range(WORKERS)]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.support.audit_worker",
                mode,
                rt.db.url,
                str(FORMS),
                str(start_file),
                *map(str, share),
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for share in shares
    ]
    start_line.release(start_file, len(procs))
    outputs = [proc.communicate(timeout=300) for proc in procs]
    for proc, (out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, f"worker failed: {out}\n{err[-3000:]}"
    counts = [json.loads(out) for out, _ in outputs]
    return {key: sum(c[key] for c in counts) for key in ("completed", "refused")}


def _open_tasks(rt: Runtime) -> list[int]:
    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    return [
        task_named(rt, "investigate", start(rt, "deadline", {"registered_on": "2026-11-02"})).id
        for _ in range(TASKS)
    ]


def _counted(rt: Runtime, task_ids: list[int]) -> tuple[int, int, audit.Verification]:
    with rt.db.reading() as session:
        completed = session.execute(
            select(func.count())
            .select_from(HumanTask)
            .where(HumanTask.id.in_(task_ids), HumanTask.state == "completed")
        ).scalar_one()
        rows = session.execute(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "task.complete")
        ).scalar_one()
        return completed, rows, audit.verify(session)


@pytest.fixture
def pg_rt(rt: Runtime) -> Runtime:
    if rt.db.url.startswith("sqlite"):
        pytest.skip("SQLite admits one writer at a time: the race is PostgreSQL's")
    return rt


def test_processes_completing_different_tasks_leave_one_audit_row_each(
    pg_rt: Runtime, tmp_path: Path
) -> None:
    task_ids = _open_tasks(pg_rt)

    outcome = _run_workers(pg_rt, task_ids, tmp_path)

    completed, rows, verified = _counted(pg_rt, task_ids)
    assert outcome == {"completed": TASKS, "refused": 0}
    assert (completed, rows) == (TASKS, TASKS)
    assert verified.ok, verified


def test_negative_control_the_stale_head_update_loses_rows_and_the_test_sees_it(
    pg_rt: Runtime, tmp_path: Path
) -> None:
    """The defect put back (head moved only where its old `last_id` still holds, the state
    written regardless): completions commit without their audit row, and both the count
    and `audit verify` notice."""
    task_ids = _open_tasks(pg_rt)

    outcome = _run_workers(pg_rt, task_ids, tmp_path, mode="stale-head-unguarded")

    completed, rows, verified = _counted(pg_rt, task_ids)
    assert outcome["completed"] == completed == TASKS
    assert rows < TASKS, "the negative control lost no row: the race was not exercised"
    assert not verified.ok and "task.complete" in verified.reason, verified


def test_with_the_stale_head_update_a_change_without_its_row_is_refused_not_committed(
    pg_rt: Runtime, tmp_path: Path
) -> None:
    """The same defect with the state write's guard in place: a completion whose row was not
    appended is refused (AuditNotWritten) and leaves its task open — never a silent gap."""
    task_ids = _open_tasks(pg_rt)

    outcome = _run_workers(pg_rt, task_ids, tmp_path, mode="stale-head")

    completed, rows, verified = _counted(pg_rt, task_ids)
    assert outcome["refused"] > 0, "no completion was refused: the race was not exercised"
    assert completed == rows == outcome["completed"] == TASKS - outcome["refused"]
    assert verified.ok, verified
