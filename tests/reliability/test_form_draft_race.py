"""Several designers' OS processes saving the same form draft from the same revision: exactly
one save wins, the others are told (DraftConflict), and the row holds the winner's edit at
revision base + 1. The negative control writes without the revision check: then several
commit and all but one edit are lost, which the same count sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import start_line
from tests.support.world import World, make_world
from workflows import access
from workflows.definitions import form_drafts
from workflows.engine.models import FormDraft
from workflows.runtime import Runtime

ROOT = Path(__file__).resolve().parents[2]
STEM = "race_form"
#: The racers: a label each, and the designer saving.
RACERS = {f"racer{n}": ("designer.hf", "designer.wh")[n % 2] for n in range(4)}


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


def _race(rt: Runtime, tmp_path: Path, mode: str) -> tuple[dict[str, dict[str, str]], FormDraft]:
    """Revision 1 saved, then every designer saves over it at once in a worker process;
    what each worker reported, and the row afterwards."""
    with rt.transaction() as session:
        form_drafts.save(
            session,
            principal=access.principal_for(session, username="designer.hf"),
            stem=STEM,
            schema={"type": "object", "properties": {}},
            uischema={},
            base_revision=0,
            clock=rt.clock,
        )
    start = tmp_path / f"go-{mode}"
    procs = {
        label: subprocess.Popen(
            [
                sys.executable, "-m", "tests.support.form_draft_worker",
                mode, rt.db.url, str(start), STEM, user, label,
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label, user in RACERS.items()
    }  # fmt: skip
    start_line.release(start, len(procs))
    said = {}
    for label, proc in procs.items():
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        said[label] = json.loads(out.strip().splitlines()[-1])
    with rt.db.reading() as session:
        row = session.execute(select(FormDraft).where(FormDraft.stem == STEM)).scalar_one()
        session.expunge(row)
    return said, row


def test_designers_saving_the_same_revision_at_once_exactly_one_wins(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    said, row = _race(rt, tmp_path, "product")
    winners = [label for label, found in said.items() if found["won"]]
    assert len(winners) == 1, said
    assert all(f["error"] == "DraftConflict" for k, f in said.items() if k not in winners), said
    assert row.revision == 2 and row.saved_by == RACERS[winners[0]]
    assert json.loads(row.schema_json)["title"] == f"{winners[0]} 的修改"


def test_negative_control_without_the_revision_check_edits_are_lost(
    rt: Runtime, world: World, tmp_path: Path
) -> None:
    if rt.db.url.startswith("sqlite"):
        pytest.skip("SQLite admits one writer at a time: the race is PostgreSQL's")
    said, row = _race(rt, tmp_path, "unchecked")
    winners = [label for label, found in said.items() if found["won"]]
    assert row.revision == 2
    assert len(winners) > row.revision - 1, "no edit was lost: the control proves nothing"
