"""Administrators and designers uploading a new version of the same 公文 template at the same
instant, each in an OS process: every upload either takes a version or is told (Conflict, 409
over the API) — none fails with a server error — and the rows are the winners' versions,
numbered without a gap, each with its audit row. The negative control inserts without the
guard: the same race then ends in raw IntegrityErrors, which the same test would see."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.support import start_line
from tests.support.world import World, make_world
from workflows.engine.models import AuditEvent
from workflows.official import kinds
from workflows.official.models import OfficialTemplate
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
KIND = kinds.ACCOUNTABILITY
UPLOADERS = ["designer.hf", "designer.wh", "designer.hf", "designer.wh"]


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


def _race(rt: Runtime, tmp_path: Path, mode: str) -> list[dict[str, object]]:
    """Every uploader at once, each in a worker process: what each reported."""
    start = tmp_path / f"go-{mode}"
    procs = [
        subprocess.Popen(
            [
                sys.executable, "-m", "tests.support.template_worker",
                mode, rt.db.url, str(start), KIND, user,
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for user in UPLOADERS
    ]  # fmt: skip
    start_line.release(start, len(procs))
    said = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err  # a crash (the 500) fails here
        said.append(json.loads(out.strip().splitlines()[-1]))
    return said


def test_uploads_at_the_same_instant_each_take_a_version_or_are_told(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    said = _race(rt, tmp_path, "product")
    won = sorted(int(str(found["version"])) for found in said if found["won"])
    assert all(found["won"] or found["error"] == "Conflict" for found in said), said
    assert won == list(range(2, 2 + len(won))), said  # no number twice, none skipped
    with rt.db.reading() as session:
        stored = session.execute(
            select(OfficialTemplate.version)
            .where(OfficialTemplate.kind == KIND)
            .order_by(OfficialTemplate.version)
        ).scalars()
        audited = session.execute(
            select(func.count())
            .select_from(AuditEvent)
            .where(AuditEvent.action == "official_template.upload")
        ).scalar_one()
    assert list(stored) == won and audited == len(won), (said, audited)


def test_negative_control_without_the_guard_the_race_ends_in_integrity_errors(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    if rt.db.url.startswith("sqlite"):
        pytest.skip("SQLite admits one writer at a time: the race is PostgreSQL's")
    said = _race(rt, tmp_path, "unguarded")
    crashed = [found for found in said if found.get("error") == "IntegrityError"]
    assert crashed, f"every upload took its own number: the control proves nothing ({said})"
