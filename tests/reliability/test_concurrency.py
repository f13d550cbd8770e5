"""Two completions of one task: exactly one wins, in threads and in separate processes;
and a step that fails half-way leaves nothing behind.

Runs on both backends: SQLite serializes writers with BEGIN IMMEDIATE, PostgreSQL with
the instance row lock; the rule must hold on each.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import FORMS, set_clock
from tests.support import deploy, open_tasks, start, task_named
from workflows.engine import audit, instances, settings
from workflows.engine.models import AuditEvent, HumanTask, Instance, Timer
from workflows.engine.spiff import ProcessError
from workflows.errors import DomainError, TaskAlreadyCompleted
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
CADREFLOW = Path(sys.executable).with_name("cadreflow")
VALID = {"responsible": True, "severity": 2, "finding": "应负直接责任"}
RACES = 5


def _complete_in_thread(
    rt: Runtime, task_id: int, actor: str, barrier: threading.Barrier, results: dict[str, Any]
) -> None:
    try:
        barrier.wait(timeout=10)
        with rt.transaction() as session:
            instances.complete_task(
                session, task_id=task_id, data=VALID, actor=actor, clock=rt.clock
            )
        results[actor] = "ok"
    except BaseException as err:  # noqa: BLE001 - the test inspects what each racer got
        results[actor] = err


def _race(rt: Runtime, task_id: int) -> dict[str, Any]:
    barrier = threading.Barrier(2)
    results: dict[str, Any] = {}
    threads = [
        threading.Thread(target=_complete_in_thread, args=(rt, task_id, actor, barrier, results))
        for actor in ("clerk_a", "clerk_b")
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a racer is still blocked after 120 s"
    return results


def _tasks_of(rt: Runtime, instance_id: int) -> list[HumanTask]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(HumanTask).where(HumanTask.instance_id == instance_id).order_by(HumanTask.id)
            ).scalars()
        )


def _completion_audits(rt: Runtime, task_id: int) -> list[AuditEvent]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(AuditEvent).where(
                    AuditEvent.action == "task.complete", AuditEvent.object_id == str(task_id)
                )
            ).scalars()
        )


def _assert_completed_once(rt: Runtime, instance_id: int, task_id: int, winner: str) -> None:
    rows = _tasks_of(rt, instance_id)
    investigate = [t for t in rows if t.task_spec == "investigate"]
    assert [(t.id, t.state, t.completed_by) for t in investigate] == [
        (task_id, "completed", winner)
    ]
    decide = [t for t in rows if t.task_spec == "decide"]
    assert len(decide) == 1 and decide[0].state == "open"
    events = _completion_audits(rt, task_id)
    assert len(events) == 1, f"{len(events)} task.complete audit rows for task {task_id}"
    assert events[0].actor == winner
    with rt.db.reading() as session:
        result = audit.verify(session)
    assert result.ok, result


def test_two_threads_completing_one_task_exactly_one_wins_five_times(rt: Runtime) -> None:
    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    for _ in range(RACES):
        iid = start(rt, "deadline", {"registered_on": "2026-11-02"})
        task_id = task_named(rt, "investigate", iid).id

        results = _race(rt, task_id)

        winners = [actor for actor, outcome in results.items() if outcome == "ok"]
        losers = {actor: outcome for actor, outcome in results.items() if outcome != "ok"}
        assert len(winners) == 1, f"expected one winner, got {results}"
        [(loser, error)] = losers.items()
        assert isinstance(error, TaskAlreadyCompleted), f"{loser} got {error!r}"
        assert "已由" in str(error) and "办结" in str(error)
        _assert_completed_once(rt, iid, task_id, winners[0])


def test_two_cli_processes_completing_one_task_exactly_one_exits_zero(rt: Runtime) -> None:
    assert CADREFLOW.exists(), f"console script not found at {CADREFLOW}"
    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    iid = start(rt, "deadline", {"registered_on": "2026-11-02"})
    task_id = task_named(rt, "investigate", iid).id
    env = {
        **os.environ,
        "CADREFLOW_DATABASE_URL": rt.db.url,
        "CADREFLOW_FORMS_DIR": str(FORMS),
        "CLOCK_ADJUSTABLE": "1",
    }
    procs = {
        user: subprocess.Popen(
            [str(CADREFLOW), "complete", str(task_id), "--data", json.dumps(VALID), "--user", user],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for user in ("clerk_a", "clerk_b")
    }
    outcomes = {
        user: (*proc.communicate(timeout=120), proc.returncode) for user, proc in procs.items()
    }

    codes = sorted(code for _, _, code in outcomes.values())
    assert codes == [0, 1], outcomes
    [winner] = [user for user, (_, _, code) in outcomes.items() if code == 0]
    [(_, loser_err, _)] = [o for o in outcomes.values() if o[2] == 1]
    assert "已由" in loser_err and "办结" in loser_err, loser_err
    assert f"completed task {task_id}" in outcomes[winner][0]
    _assert_completed_once(rt, iid, task_id, winner)


def _snapshot(rt: Runtime, instance_id: int) -> dict[str, Any]:
    with rt.db.reading() as session:
        inst = session.get(Instance, instance_id)
        assert inst is not None
        return {
            "state": inst.state,
            "version": inst.version,
            "status": inst.status,
            "updated_at": inst.updated_at,
            "audit_rows": session.execute(
                select(func.count()).select_from(AuditEvent)
            ).scalar_one(),
            "audit_last": session.execute(select(func.max(AuditEvent.id))).scalar_one(),
            "task_rows": session.execute(select(func.count()).select_from(HumanTask)).scalar_one(),
            "tasks": [
                (t.id, t.task_spec, t.state, t.completed_by)
                for t in session.execute(select(HumanTask).order_by(HumanTask.id)).scalars()
            ],
            "timers": [(t.id, t.fire_at) for t in session.execute(select(Timer)).scalars()],
        }


def test_gateway_failing_at_run_time_leaves_nothing_half_written(rt: Runtime) -> None:
    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "bulk_broken_gateway.bpmn")
    iid = start(rt, "bulk_broken_gateway")
    task_id = task_named(rt, "investigate", iid).id
    before = _snapshot(rt, iid)

    # severity 1 is valid for the form, but the condition divides by (severity - 1).
    with pytest.raises(ProcessError) as caught, rt.db.transaction() as session:
        settings.sync_clock(session, rt.clock)
        instances.complete_task(
            session,
            task_id=task_id,
            actor="clerk",
            clock=rt.clock,
            data={"responsible": True, "severity": 1, "finding": "应负直接责任"},
        )

    assert isinstance(caught.value, DomainError)
    assert caught.value.element == "weigh"
    assert "division by zero" in caught.value.message
    after = _snapshot(rt, iid)
    assert after == before
    assert [t.id for t in open_tasks(rt, iid)] == [task_id]
    with rt.db.reading() as session:
        assert audit.verify(session).ok

    # The instance is intact, not just unchanged: a good completion still goes through.
    with rt.transaction() as session:
        instances.complete_task(session, task_id=task_id, data=VALID, actor="clerk", clock=rt.clock)
    assert [t.task_spec for t in open_tasks(rt, iid)] == ["decide"]


def test_clerk_completing_while_a_sweep_fires_the_same_instance_does_not_deadlock(
    rt: Runtime,
) -> None:
    """The sweep claims the instance (not its timer rows), so a clerk's completion waits for
    the sweep's commit and then gets a clear answer, never a database deadlock."""
    from workflows.engine import timers

    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    iid = start(rt, "deadline", {"registered_on": "2026-11-02"})
    task = task_named(rt, "investigate", iid)
    set_clock(rt, "2026-12-10 12:00")  # the reminder is due, the deadline is not
    claimed = threading.Event()
    outcome: dict[str, Any] = {}

    def clerk() -> None:
        claimed.wait(timeout=10)
        try:
            with rt.transaction() as session:
                instances.complete_task(
                    session, task_id=task.id, data=VALID, actor="clerk", clock=rt.clock
                )
            outcome["clerk"] = "completed"
        except Exception as err:  # noqa: BLE001 - the test records what a clerk would see
            outcome["clerk"] = err

    thread = threading.Thread(target=clerk)
    thread.start()
    with rt.transaction() as session:
        due = timers._claim(session, clock=rt.clock, batch=10, tried=set(), lock=True)
        assert due == [iid]
        claimed.set()
        thread.join(timeout=0.5)  # the clerk is now waiting for the instance
        assert timers.fire(session, instance_id=iid, clock=rt.clock) == 1
    thread.join(timeout=30)
    assert outcome["clerk"] == "completed"
    assert sorted(t.task_spec for t in open_tasks(rt, iid)) == ["decide", "remind"]
    with rt.db.reading() as session:
        assert audit.verify(session).ok


def test_a_claim_committed_while_a_completion_waits_for_the_lock_is_respected(rt: Runtime) -> None:
    """A clerk's completion is authorized under the instance lock: when a colleague claims the
    task while the completion waits for that lock, the completion sees the claim and is refused
    (PostgreSQL would otherwise have judged the task as it was before the claim)."""
    from tests.support.world import make_world
    from workflows import access
    from workflows.errors import Forbidden
    from workflows.tasks import completion
    from workflows.tasks import service as task_service

    w = make_world(rt, processes=["accountability"])
    case = w.open(
        "accountability",
        cadre="zhang",
        data={
            "source": "audit",
            "facts": "审计发现违规拨付专项资金",
            "evidence": "审计报告〔2026〕3号",
        },
    )
    register = w.task(case, "register")
    locked = threading.Event()
    outcome: dict[str, Any] = {}

    def clerk() -> None:
        locked.wait(timeout=10)
        try:
            with rt.transaction() as session:
                principal = access.principal_for(session, username="discipline.hf")
                completion.complete(
                    session, principal=principal, task_id=register.id, data={}, clock=rt.clock
                )
            outcome["clerk"] = "completed"
        except Exception as err:  # noqa: BLE001 - the test records what the clerk would see
            outcome["clerk"] = err

    thread = threading.Thread(target=clerk)
    thread.start()
    with rt.transaction() as session:
        colleague = access.principal_for(session, username="discipline2.hf")
        task_service.claim(session, principal=colleague, task_id=register.id, clock=rt.clock)
        locked.set()
        thread.join(timeout=0.5)  # the clerk is now waiting for the instance (or the database)
    thread.join(timeout=30)
    assert isinstance(outcome["clerk"], Forbidden), outcome
    assert "本任务已指定由第二审查员（合肥市·纪检监察机关）办理" in str(outcome["clerk"])
    with rt.db.reading() as session:
        row = session.get(HumanTask, register.id)
        assert row is not None and (row.state, row.assignee) == ("open", "discipline2.hf")
