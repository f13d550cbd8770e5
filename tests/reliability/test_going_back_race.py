"""A 退回 and a completion of the same step racing in two OS processes (the real console
script) on both backends: exactly one wins each time, and the rows say the same — either one
going back and the step cancelled, or the step completed and no going back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support import start_line
from tests.support.world import FORMS, World, make_world
from workflows.engine import audit
from workflows.engine.models import AuditEvent, HumanTask
from workflows.runtime import Runtime
from workflows.tasks.models import GoingBack

ROOT = Path(__file__).resolve().parents[2]
CADREFLOW = Path(sys.executable).with_name("cadreflow")
RACES = 3


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


def test_a_return_and_a_completion_in_two_processes_exactly_one_wins(
    rt: Runtime, world: World
) -> None:
    assert CADREFLOW.exists(), f"console script not found at {CADREFLOW}"
    env = {
        **os.environ,
        "CADREFLOW_DATABASE_URL": rt.db.url,
        "CADREFLOW_FORMS_DIR": str(FORMS),
        "CLOCK_ADJUSTABLE": "1",
    }
    decision = {
        "outcome": "admonishment",
        "decided_on": world.today().isoformat(),
        "reason": "对违规拨付负主要领导责任",
    }
    for _ in range(RACES):
        task_id = world.task(world.awaiting_decision(), "decide").id
        commands = {
            "return": [
                "task", "return", str(task_id), "--to", "investigate",
                "--reason", "补充调查", "--user", "committee.hf",
            ],
            "complete": [
                "complete", str(task_id), "--data", json.dumps(decision), "--user", "committee.hf",
            ],
        }  # fmt: skip
        procs = {
            name: subprocess.Popen(
                [str(CADREFLOW), *args],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, args in commands.items()
        }
        outcomes = {name: (*p.communicate(timeout=120), p.returncode) for name, p in procs.items()}
        codes = {name: code for name, (_out, _err, code) in outcomes.items()}
        assert sorted(codes.values()) == [0, 1], outcomes
        assert all("Traceback" not in err for _out, err, _code in outcomes.values()), outcomes
        with rt.db.reading() as session:
            backs = session.execute(
                select(func.count()).select_from(GoingBack).where(GoingBack.from_task_id == task_id)
            ).scalar_one()
            state = session.get(HumanTask, task_id).state
            completions = session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "task.complete", AuditEvent.object_id == str(task_id))
            ).scalar_one()
            returns = session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "task.return", AuditEvent.object_id == str(task_id))
            ).scalar_one()
        if codes["return"] == 0:
            assert (backs, state, completions, returns) == (1, "cancelled", 0, 1), outcomes
        else:
            assert (backs, state, completions, returns) == (0, "completed", 1, 0), outcomes
    with rt.db.reading() as session:
        assert audit.verify(session).ok


# --- the same race through worker processes, and its negative control ---------------------


def _race_in_workers(rt: Runtime, world: World, tmp_path: Path, mode: str) -> list[bool]:
    """Three rounds of a return and a completion of 问责决定 in two worker processes; per
    round, whether both committed (the rows are checked against what each reported)."""
    decision = {
        "outcome": "admonishment",
        "decided_on": world.today().isoformat(),
        "reason": "对违规拨付负主要领导责任",
    }
    doubles = []
    for round_no in range(RACES):
        task_id = world.task(world.awaiting_decision(), "decide").id
        start = tmp_path / f"go-{mode}-{round_no}"
        racers = {
            "return": ["return", str(task_id), "committee.hf", "investigate"],
            "complete": ["complete", str(task_id), "committee.hf", json.dumps(decision)],
        }
        procs = {
            name: subprocess.Popen(
                [
                    sys.executable, "-m", "tests.support.going_back_worker",
                    mode, rt.db.url, str(FORMS), str(start), *args,
                ],
                cwd=ROOT,
                env=os.environ.copy(),
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for name, args in racers.items()
        }  # fmt: skip
        start_line.release(start, len(procs))
        won = {}
        for name, proc in procs.items():
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            won[name] = json.loads(out.strip().splitlines()[-1])["won"]
        with rt.db.reading() as session:
            backs = session.execute(
                select(func.count()).select_from(GoingBack).where(GoingBack.from_task_id == task_id)
            ).scalar_one()
            completions = session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "task.complete", AuditEvent.object_id == str(task_id))
            ).scalar_one()
        assert (backs, completions) == (int(won["return"]), int(won["complete"])), won
        doubles.append(backs + completions == 2)
        if backs + completions != 2:
            assert backs + completions == 1, (backs, completions)
    return doubles


def test_worker_processes_racing_a_return_and_a_completion_never_both_commit(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    assert _race_in_workers(rt, world, tmp_path, "product") == [False] * RACES


def test_negative_control_without_the_lock_and_version_check_both_commit(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    """The instance read without its lock and written without the version check: a return
    and a completion both commit, and the count above sees it."""
    if rt.db.url.startswith("sqlite"):
        pytest.skip("SQLite admits one writer at a time: the race is PostgreSQL's")
    doubles = _race_in_workers(rt, world, tmp_path, "unlocked")
    assert any(doubles), "no round let both commit: the control proves nothing"
