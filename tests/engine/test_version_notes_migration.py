"""Migration 0017: the 版本说明 and the count of confirmed warnings on process_version; going
down and up again keeps the versions (notes of versions deployed before come back empty)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from tests.support import deploy
from workflows import migrate
from workflows.runtime import Runtime


def _columns(rt: Runtime) -> set[str]:
    return {c["name"] for c in inspect(rt.db.engine).get_columns("process_version")}


def test_0017_adds_note_and_confirmed_warnings_and_goes_down_cleanly(rt: Runtime) -> None:
    deploy(rt, "deadline.bpmn")
    assert {"note", "confirmed_warnings"} <= _columns(rt)
    url = rt.db.url
    rt.db.dispose()
    try:
        command.downgrade(migrate.alembic_config(url), "0016")
        rt.db.dispose()
        assert not {"note", "confirmed_warnings"} & _columns(rt)
    finally:
        rt.db.dispose()
        migrate.upgrade(url)
    rt.db.dispose()
    with rt.db.engine.begin() as conn:
        rows = conn.execute(
            text("SELECT process_key, version, note, confirmed_warnings FROM process_version")
        ).all()
    assert [tuple(r) for r in rows] == [("deadline", 1, None, 0)]
