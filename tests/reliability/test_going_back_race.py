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
