"""Migration 0021: 立案日期 on the case, taken for existing cases from their 立案 step in the
audit trail, else the local date they were entered; going down and up again keeps it."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, text

from tests.conftest import set_clock
from tests.support.world import FINDING, make_world
from workflows import migrate
from workflows.runtime import Runtime


def _registered(rt: Runtime) -> dict[int, str]:
    with rt.db.engine.begin() as conn:
        rows = conn.execute(text("SELECT id, registered_on FROM case_file ORDER BY id")).all()
    return {row[0]: str(row[1]) for row in rows}


def test_0021_backfills_the_registration_date_and_goes_down_cleanly(rt: Runtime) -> None:
    world = make_world(rt)
    set_clock(rt, "2026-03-03 01:30")  # local time: still 2 March in UTC, as stored
    registered = world.open("accountability", data=FINDING)
    world.complete(registered, "register", {"registered_on": "2026-02-26"}, "discipline.hf")
    entered = world.open("accountability", data=FINDING)
    assert _registered(rt) == {registered.id: "2026-02-26", entered.id: "2026-03-03"}
    url = rt.db.url
    rt.db.dispose()
    try:
        command.downgrade(migrate.alembic_config(url), "0020")
        rt.db.dispose()
        assert "registered_on" not in {
            c["name"] for c in inspect(rt.db.engine).get_columns("case_file")
        }
    finally:
        rt.db.dispose()
        migrate.upgrade(url)
    rt.db.dispose()
    assert _registered(rt) == {registered.id: "2026-02-26", entered.id: "2026-03-03"}
