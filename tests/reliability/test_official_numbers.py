"""文号 under concurrency: several OS processes complete 问责决定 of different cases of one unit
at the same moment; afterwards the rows hold the numbers 1…N of that unit and year, each once,
no gap. The negative control reads the highest number and adds one (no counter row locked):
racers then take one number and all but one fail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import start_line
from tests.support.world import FORMS, World, make_world
from workflows.official import kinds
from workflows.official.models import OfficialDocument
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt, processes=["accountability"])


def _race(rt: Runtime, world: World, tmp_path: Path, mode: str) -> list[dict[str, object]]:
    """WORKERS decisions completed at once, each in its own process; what each reported."""
    decision = {
        "outcome": "admonishment",
        "decided_on": world.today().isoformat(),
        "reason": "对违规拨付负主要领导责任",
    }
    tasks = [world.task(world.awaiting_decision(), "decide").id for _ in range(WORKERS)]
    start = tmp_path / f"numbers-{mode}"
    procs = [
        subprocess.Popen(
            [
                sys.executable, "-m", "tests.support.official_number_worker",
                mode, rt.db.url, str(FORMS), str(start), str(task_id), "committee.hf",
                json.dumps(decision),
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for task_id in tasks
    ]  # fmt: skip
    start_line.release(start, len(procs))
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    return reports


def _numbers(rt: Runtime) -> list[int]:
    with rt.db.reading() as session:
        return sorted(
            session.execute(
                select(OfficialDocument.seq).where(
                    OfficialDocument.kind == kinds.ACCOUNTABILITY,
                    OfficialDocument.org_unit_code == "ah-hf",
                    OfficialDocument.year == 2026,
                )
            ).scalars()
        )


def test_concurrent_decisions_take_consecutive_numbers_once_each(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    reports = _race(rt, world, tmp_path, "product")
    assert all(report["won"] for report in reports), reports
    assert _numbers(rt) == list(range(1, WORKERS + 1))


def test_negative_control_reading_the_highest_number_loses_decisions(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    """Without the counter the racers read the same highest number: the unique 文号 refuses
    all but one, and their decisions are lost; the count above sees it."""
    if rt.db.url.startswith("sqlite"):
        pytest.skip("SQLite admits one writer at a time: the race is PostgreSQL's")
    reports = _race(rt, world, tmp_path, "unlocked")
    assert not all(report["won"] for report in reports), (
        "every racer won: the control proves nothing"
    )
    assert len(_numbers(rt)) < WORKERS
