"""Prepared statements (workflows/prepared.py) send the SQL SQLAlchemy would send, with the
same parameter and result conversions, on both backends."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, insert, select, update

from tests.support import deploy, start
from workflows.engine.db import Database
from workflows.engine.models import Timer, table_of
from workflows.engine.prepared import Prepared
from workflows.runtime import Runtime

TIMERS = table_of(Timer)
_ROWS = [
    {"instance_id": None, "spiff_task_id": f"t{i}", "task_spec": "wait", "kind": kind,
     "fire_at": datetime(2026, 12, 1 + i, 9, 30, tzinfo=UTC)}
    for i, kind in enumerate(["p-due", "p-remind", "p-due"])
]
_BY_KIND = select(TIMERS.c.spiff_task_id, TIMERS.c.fire_at, TIMERS.c.kind.label("what")).where(
    TIMERS.c.kind == bindparam("kind")).order_by(TIMERS.c.spiff_task_id)
_DEADLINES = select(TIMERS.c.spiff_task_id).where(TIMERS.c.kind == "p-due").order_by(TIMERS.c.id)
_MOVE = update(TIMERS).where(TIMERS.c.kind == bindparam("k")).values(fire_at=bindparam("at"))


@pytest.fixture
def timers(rt: Runtime) -> Database:
    """Three timer rows of their own kinds on an instance of the test process."""
    deploy(rt, "deadline.bpmn")
    instance_id = start(rt, "deadline", {"registered_on": "2026-11-02"})
    with rt.db.transaction() as session:
        session.execute(insert(TIMERS), [{**row, "instance_id": instance_id} for row in _ROWS])
    return rt.db


def test_rows_and_conversions_match_sqlalchemy(timers: Database) -> None:
    prepared = Prepared(_BY_KIND)
    with timers.reading() as session:
        ours = prepared.execute(session.connection(), {"kind": "p-due"}).all()
        theirs = session.execute(_BY_KIND, {"kind": "p-due"}).all()
    assert [tuple(r) for r in ours] == [tuple(r) for r in theirs]
    assert ours[0].fire_at == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # aware, as the ORM gives it
    assert ours[1].what == "p-due" and ours[1]._mapping["spiff_task_id"] == "t2"


def test_values_written_in_the_statement_itself_are_sent(timers: Database) -> None:
    with timers.reading() as session:
        rows = Prepared(_DEADLINES).execute(session.connection())
        assert [r.spiff_task_id for r in rows] == ["t0", "t2"]
        assert Prepared(_DEADLINES).execute(session.connection()).scalar() == "t0"


def test_writes_convert_parameters_and_count_rows(timers: Database) -> None:
    moved = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    with timers.transaction() as session:
        assert Prepared(_MOVE).execute(session.connection(), {"k": "p-due", "at": moved}).rowcount == 2
        assert Prepared(_MOVE).execute(session.connection(), {"k": "none", "at": moved}).rowcount == 0
    with timers.reading() as session:
        stored = session.execute(select(TIMERS.c.fire_at).where(TIMERS.c.kind == "p-due")).scalars().all()
    assert stored == [moved, moved]


def test_a_failed_transaction_takes_its_prepared_writes_with_it(timers: Database) -> None:
    moved = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    with pytest.raises(RuntimeError), timers.transaction() as session:
        Prepared(_MOVE).execute(session.connection(), {"k": "p-remind", "at": moved})
        raise RuntimeError("the step failed after writing")
    with timers.reading() as session:
        stored = session.execute(select(TIMERS.c.fire_at).where(TIMERS.c.kind == "p-remind")).scalar_one()
    assert stored == _ROWS[1]["fire_at"]


def test_what_a_prepared_statement_refuses(database: Database) -> None:
    listed = Prepared(select(TIMERS.c.id).where(TIMERS.c.kind.in_(bindparam("kinds", expanding=True))))
    clashing = Prepared(select(TIMERS.c.id, TIMERS.c.instance_id.label("id")))
    with database.reading() as session:
        with pytest.raises(ValueError, match="expanding"):
            listed.execute(session.connection(), {"kinds": ["p-due"]})
        with pytest.raises(ValueError, match="distinct plain names"):
            clashing.execute(session.connection())
    with database.engine.connect() as conn, pytest.raises(RuntimeError, match="inside the caller's transaction"):
        Prepared(_DEADLINES).execute(conn)
