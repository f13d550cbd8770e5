"""Prepared statements (workflows/engine/prepared.py) do what SQLAlchemy's own execution of the
same statement does. Each statement the product registers runs on both backends with
representative parameters, once prepared and once by `conn.execute`, each in a transaction
rolled back afterwards: the rows (names and converted values), the row count and every table
a hot-path statement writes must come out the same."""

from __future__ import annotations

import hashlib
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from sqlalchemy import Integer, Table, bindparam, cast, literal, select, update
from sqlalchemy.sql.selectable import SelectBase

from tests.support import deploy, instance, start, task_named, timer_rows
from tests.test_layering import PREPARED_IMPORTERS
from workflows.cases.models import CaseFile
from workflows.engine import audit, prepared
from workflows.engine import spiff as engine
from workflows.engine.db import Database
from workflows.engine.models import AuditEvent, AuditHead, HumanTask, Instance, Timer, table_of
from workflows.engine.prepared import REGISTRY, Family, Prepared
from workflows.org import auth
from workflows.org import service as org
from workflows.org.models import User
from workflows.runtime import Runtime
from workflows.tasks.models import Consultation, ConsultationOpinion, TaskDraft

# Every module that may define prepared statements, imported: the registry is then complete.
for _path in sorted(PREPARED_IMPORTERS):
    if _path.startswith("workflows/"):
        importlib.import_module(_path.removesuffix(".py").replace("/", "."))

#: The product's statements (tests register their own below, under `test_prepared.`).
PRODUCT = sorted(name for name, item in REGISTRY.items() if item.module.startswith("workflows."))

TASKS, TIMERS, INSTANCES = table_of(HumanTask), table_of(Timer), table_of(Instance)
#: What the hot path writes, compared after each write. Ids drawn from a sequence are left out:
#: PostgreSQL does not give them back at rollback, so the second run draws others.
WRITTEN: tuple[tuple[Table, frozenset[str]], ...] = (
    (INSTANCES, frozenset()),
    (TASKS, frozenset({"id"})),
    (TIMERS, frozenset({"id"})),
    (table_of(TaskDraft), frozenset()),
    (table_of(AuditHead), frozenset()),
    (table_of(AuditEvent), frozenset()),
)
NOW = datetime(2026, 11, 3, 9, 30, tzinfo=UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class World:
    """Two instances of `deadline` with `investigate` open; the first has a case file, its two
    timers and a draft of its task; a clerk with a login session and a bearer token."""

    instance_id: int
    version: int
    task_id: int
    spiff_task_id: str
    timers: tuple[str, ...]
    other_task_id: int
    session_digest: str
    token_digest: str


@pytest.fixture
def world(rt: Runtime) -> World:
    deploy(rt, "deadline.bpmn")
    with rt.transaction() as session:
        org.add_unit(session, code="hefei", name="合肥", level="city")
        org.add_user(
            session,
            username="clerk",
            display_name="审查员",
            password="prepared-1",
            role="discipline",
            org_unit_code="hefei",
            clock=rt.clock,
            hasher=rt.hasher,
        )
    first = start(rt, "deadline", {"registered_on": "2026-11-02"})
    other = start(rt, "deadline", {"registered_on": "2026-11-02"})
    task = task_named(rt, "investigate", first)
    with rt.transaction() as session:
        user = session.execute(select(User).where(User.username == "clerk")).scalar_one()
        opened = auth.open_session(session, user=user, ip=None, clock=rt.clock)
        token = auth.issue_token(session, username="clerk", name="对接", days=30, clock=rt.clock)
        session.add(
            CaseFile(
                number="问责〔2026〕1号",
                kind="deadline",
                year=2026,
                seq=1,
                instance_id=first,
                subject_name="张三",
                org_unit_code="hefei",
                title="调查",
                status="open",
                registered_on=NOW.date(),
                opened_at=NOW,
                opened_by="clerk",
            )
        )
        session.add(
            TaskDraft(task_id=task.id, data='{"finding": "草稿"}', saved_by="clerk", saved_at=NOW)
        )
        asked = Consultation(
            task_id=task.id, instance_id=first, asked_by="clerk", question="意见？", asked_at=NOW
        )
        session.add(asked)
        session.flush()
        session.add_all(
            [
                ConsultationOpinion(consultation_id=asked.id, username="clerk"),
                ConsultationOpinion(
                    consultation_id=asked.id, username="answered", opinion="同意", answered_at=NOW
                ),
            ]
        )
    return World(
        first,
        instance(rt, first).version,
        task.id,
        task.spiff_task_id,
        tuple(sorted(t.spiff_task_id for t in timer_rows(rt, first))),
        task_named(rt, "investigate", other).id,
        _digest(opened.secret),
        _digest(token.secret),
    )


def statement(name: str) -> Prepared:
    found = REGISTRY[name]
    assert isinstance(found, Prepared)
    return found


def shapes(name: str) -> Family:
    found = REGISTRY[name]
    assert isinstance(found, Family)
    return found


def _rows(table: Table, count: int, row: Callable[[int], dict[str, Any]]) -> dict[str, Any]:
    return {f"{table.name}_{i}_{c}": v for i in range(count) for c, v in row(i).items()}


def _task(i: int, iid: int) -> dict[str, Any]:
    return {
        "instance_id": iid,
        "process_key": "deadline",
        "spiff_task_id": f"new-{i}",
        "task_spec": "investigate",
        "name": "责任调查",
        "role": "discipline",
        "org_unit": "hefei",
        "assignee": None,
        "form": "investigate",
        "state": "open",
        "created_at": NOW,
        "due_at": NOW,
        "due_basis": "workdays",
        "completed_at": None,
        "completed_by": None,
    }


def _timer(i: int, iid: int) -> dict[str, Any]:
    return {
        "instance_id": iid,
        "spiff_task_id": f"new-timer-{i}",
        "task_spec": "overdue",
        "kind": "boundary",
        "fire_at": NOW,
    }


#: (statement, parameters, rows returned or row count expected)
Case = tuple[Prepared, dict[str, Any], int]


def cases(w: World, dialect: str) -> dict[str, list[Case]]:
    """Representative executions of every registered statement on `dialect` (none: the
    statement runs on the other backend only)."""
    iid, tid = w.instance_id, w.task_id
    state = {
        "iid": iid,
        "expected": w.version,
        "next": w.version + 1,
        "state": '{"moved": 1}',
        "fmt": engine.STATE_FORMAT,
        "status": "running",
        "now": NOW,
        "done_at": None,
    }
    row = audit.entry(
        at=NOW,
        actor="clerk",
        action="task.complete",
        object_type="task",
        object_id=tid,
        instance_id=iid,
        detail={"task": "investigate", "n": 1},
    )
    ctes, audited = audit.appending_ctes(row)
    appended = {**row, "body": audited["audit_body"]}
    pg = dialect == "postgresql"
    complete = {"tid": tid, "now": NOW, "actor": "clerk"}
    task_cols, timer_cols = tuple(_task(0, iid)), tuple(_timer(0, iid))
    batch = shapes("projections.batch")(
        statement("instances.write_state_audited"),
        (
            statement("projections.complete_task"),
            shapes("projections.delete_timers")(1),
            shapes("projections.insert_rows")(TIMERS, timer_cols, 1),
            statement("drafts.drop_draft"),
        ),
        tuple(ctes),
    )
    return {
        "access.task_facts": [
            (statement("access.task_facts"), {"tid": tid}, 1),
            (statement("access.task_facts"), {"tid": w.other_task_id}, 1),
            (statement("access.task_facts"), {"tid": 0}, 0),
        ],
        "audit.append_pg": [(statement("audit.append_pg"), appended, 1)] if pg else [],
        "audit.append_sqlite": [] if pg else [(statement("audit.append_sqlite"), appended, 1)],
        "auth.session_with_user": [
            (statement("auth.session_with_user"), {"sid": w.session_digest}, 1),
            (statement("auth.session_with_user"), {"sid": _digest("unknown")}, 0),
        ],
        "auth.token_with_user": [
            (statement("auth.token_with_user"), {"digest": w.token_digest}, 1)
        ],
        "completion.open_of_instance": [
            (statement("completion.open_of_instance"), {"iid": iid}, 1)
        ],
        "consultations.waiting": [
            (statement("consultations.waiting"), {"tid": tid}, 1),
            (statement("consultations.waiting"), {"tid": w.other_task_id}, 0),
        ],
        "people.one": [
            (statement("people.one"), {"username": "clerk"}, 1),
            (statement("people.one"), {"username": "nobody"}, 0),
        ],
        "drafts.drop_draft": [
            (statement("drafts.drop_draft"), {"tid": tid}, 1),
            (statement("drafts.drop_draft"), {"tid": w.other_task_id}, 0),
        ],
        "instances.lock_with_task": [
            (statement("instances.lock_with_task"), {"tid": tid}, 1),
            (statement("instances.lock_with_task"), {"tid": 0}, 0),
        ],
        "instances.write_state": [
            (statement("instances.write_state"), state, 1),
            (
                statement("instances.write_state"),
                {**state, "status": "completed", "done_at": NOW},
                1,
            ),
            (statement("instances.write_state"), {**state, "expected": w.version + 9}, 0),
        ],
        # a migration's write: `deadline`, the only process deployed, is process version 1
        "instances.write_state_moved": [
            (statement("instances.write_state_moved"), {**state, "pvid": 1}, 1),
            (
                statement("instances.write_state_moved"),
                {**state, "pvid": 1, "expected": w.version + 9},
                0,
            ),
        ],
        "instances.write_state_audited": [
            (statement("instances.write_state_audited"), {**state, **audited}, 1)
        ]
        if pg
        else [],
        "projections.batch": [
            (
                batch,
                {
                    **state,
                    **audited,
                    **complete,
                    "iid": iid,
                    "timer_0": w.timers[0],
                    **_rows(TIMERS, 1, lambda i: _timer(i, iid)),
                },
                1,
            )
        ]
        if pg
        else [],
        "projections.cancel_tasks": [
            (
                shapes("projections.cancel_tasks")(1),
                {"iid": iid, "now": NOW, "cancel_0": w.spiff_task_id},
                1,
            ),
            (
                shapes("projections.cancel_tasks")(2),
                {"iid": iid, "now": NOW, "cancel_0": "gone", "cancel_1": w.spiff_task_id},
                1,
            ),
        ],
        "projections.complete_task": [(statement("projections.complete_task"), complete, 1)],
        "projections.delete_timers": [
            (shapes("projections.delete_timers")(1), {"iid": iid, "timer_0": w.timers[0]}, 1),
            (
                shapes("projections.delete_timers")(2),
                {"iid": iid, "timer_0": w.timers[0], "timer_1": w.timers[1]},
                2,
            ),
        ],
        "projections.insert_rows": [
            (
                shapes("projections.insert_rows")(TASKS, task_cols, 2),
                _rows(TASKS, 2, lambda i: _task(i, iid)),
                2,
            ),
            (
                shapes("projections.insert_rows")(TIMERS, timer_cols, 1),
                _rows(TIMERS, 1, lambda i: _timer(i, iid)),
                1,
            ),
        ],
        "projections.reschedule_task": [
            (
                statement("projections.reschedule_task"),
                {"iid": iid, "sid": w.spiff_task_id, "due": NOW},
                1,
            )
        ],
        "projections.reschedule_timer": [
            (
                statement("projections.reschedule_timer"),
                {"iid": iid, "sid": w.timers[1], "at": NOW},
                1,
            )
        ],
    }


@dataclass(frozen=True)
class Outcome:
    rows: list[dict[str, Any]] | None  # None: the statement returns no rows
    count: int  # rows returned, or the row count of a write
    tables: dict[str, list[tuple[Any, ...]]]  # what the written tables hold afterwards, raw


def outcome(db: Database, statement: Prepared, params: dict[str, Any], *, ours: bool) -> Outcome:
    """What `statement` returned and left in the tables, run prepared (`ours`) or by SQLAlchemy,
    in a transaction then rolled back."""
    returns_rows = isinstance(statement.statement, SelectBase)
    with db.engine.connect() as conn:
        trans = conn.begin()
        try:
            # preserve_rowcount: SQLAlchemy reads an INSERT's row count too (by default only an
            # UPDATE's or DELETE's); the driver's cursor always has it.
            result = (
                statement.execute(conn, params)
                if ours
                else conn.execute(
                    statement.statement,
                    params,  # type: ignore[call-overload]
                    execution_options={"preserve_rowcount": True},
                )
            )
            rows = [dict(r._mapping) for r in result] if returns_rows else None
            count = len(rows) if rows is not None else result.rowcount
            # Read as the driver has them, so a value stored differently (not converted by its
            # column type, say) shows even where the column type would read both back alike.
            quote = conn.dialect.identifier_preparer.quote
            tables = {}
            for table, left_out in WRITTEN:
                columns = ", ".join(quote(c.name) for c in table.c if c.name not in left_out)
                tables[table.name] = [
                    tuple(r)
                    for r in conn.exec_driver_sql(
                        f"SELECT {columns} FROM {quote(table.name)} ORDER BY {columns}"
                    )
                ]
        finally:
            trans.rollback()
    return Outcome(rows, count, tables)


def test_every_statement_of_the_product_has_its_cases_and_a_permitted_home() -> None:
    assert PRODUCT, "no statement registered"
    assert _case_names() == PRODUCT
    homes = {p.removesuffix(".py").replace("/", ".") for p in PREPARED_IMPORTERS}
    assert {REGISTRY[name].module for name in PRODUCT} <= homes


def _case_names() -> list[str]:
    dummy = World(1, 1, 1, "s", ("t0", "t1"), 2, "d", "d")
    return sorted(set(cases(dummy, "sqlite")) | set(cases(dummy, "postgresql")))


# The audit append joins the head row on its id alone, on purpose (engine/audit.py says why);
# SQLAlchemy's own execution lints that join, the prepared one sends the same SQL unlinted.
@pytest.mark.filterwarnings(
    "ignore:UPDATE statement has a cartesian product:sqlalchemy.exc.SAWarning"
)
@pytest.mark.parametrize("name", PRODUCT)
def test_each_registered_statement_does_what_sqlalchemy_does(
    name: str, rt: Runtime, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prepared, "PLAIN", set())  # whatever the environment asks for
    runs = cases(world, rt.db.dialect)[name]
    if not runs:
        pytest.skip(f"{name} runs on the other backend only")
    for run, params, expected in runs:
        ours = outcome(rt.db, run, params, ours=True)
        theirs = outcome(rt.db, run, params, ours=False)
        assert ours == theirs, f"{name} with {sorted(params)}"
        assert ours.count == expected, f"{name} with {sorted(params)}: not representative"


# -- what a prepared statement refuses, and what it keeps ------------------------------------

_LISTED = Prepared(
    "test_prepared.listed",
    select(TIMERS.c.id).where(TIMERS.c.kind.in_(bindparam("kinds", expanding=True))),
)
_CLASHING = Prepared(
    "test_prepared.clashing", select(TIMERS.c.id, TIMERS.c.instance_id.label("id"))
)
_RETURNING = Prepared(
    "test_prepared.returning", update(TIMERS).values(kind="x").returning(TIMERS.c.id)
)
_SHAPES = Family("test_prepared.shapes", lambda n: select(TIMERS.c.id).limit(n), max_shapes=2)


def test_a_failed_transaction_takes_its_prepared_writes_with_it(rt: Runtime, world: World) -> None:
    moved = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    with pytest.raises(RuntimeError), rt.transaction() as session:
        statement("projections.reschedule_timer").execute(
            session.connection(), {"iid": world.instance_id, "sid": world.timers[0], "at": moved}
        )
        raise RuntimeError("the step failed after writing")
    assert moved not in [t.fire_at for t in timer_rows(rt, world.instance_id)]


def test_what_a_prepared_statement_refuses(database: Database) -> None:
    with database.reading() as session:
        with pytest.raises(ValueError, match="expanding"):
            _LISTED.execute(session.connection(), {"kinds": ["p-due"]})
        with pytest.raises(ValueError, match="distinct plain names"):
            _CLASHING.execute(session.connection())
        with pytest.raises(ValueError, match="row count, not rows"):
            _RETURNING.execute(session.connection())
    with (
        database.engine.connect() as conn,
        pytest.raises(RuntimeError, match="inside the caller's"),
    ):
        statement("instances.lock_with_task").execute(conn, {"tid": 1})


def test_names_are_registered_once_with_their_group() -> None:
    with pytest.raises(ValueError, match="exists already"):
        Prepared("instances.lock_with_task", select(TIMERS.c.id))
    with pytest.raises(ValueError, match="<group>.<statement>"):
        Prepared("ungrouped", select(TIMERS.c.id))
    assert statement("instances.lock_with_task").group == "instances"
    assert REGISTRY["test_prepared.listed"].module == __name__


def test_a_family_builds_each_shape_once_and_keeps_a_bounded_number() -> None:
    first = _SHAPES(1)
    assert _SHAPES(1) is first and _SHAPES(2) is not first
    assert first.name == "test_prepared.shapes" and first.module == __name__
    _SHAPES(3)  # a third shape: the kept ones are let go
    assert _SHAPES(1) is not first


# -- statements sent together (PostgreSQL: one round trip) ---------------------------------

_NOT_A_NUMBER = Prepared(
    "test_prepared.not_a_number", select(cast(literal("not a number"), Integer).label("n"))
)


def _together(world: World, moved: datetime) -> list[tuple[Prepared, dict[str, Any]]]:
    """The completion's reads after its lock, a miss, and a write."""
    return [
        (statement("instances.lock_with_task"), {"tid": world.task_id}),
        (statement("access.task_facts"), {"tid": world.task_id}),
        (statement("consultations.waiting"), {"tid": world.task_id}),
        (statement("access.task_facts"), {"tid": 0}),
        (
            statement("projections.reschedule_timer"),
            {"iid": world.instance_id, "sid": world.timers[0], "at": moved},
        ),
    ]


def test_statements_sent_together_return_what_each_returns_alone(
    database: Database, world: World
) -> None:
    moved = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    answers = []
    for run in ("alone", "together"):
        with database.engine.connect() as conn, conn.begin() as tx:
            items = _together(world, moved)
            rows = (
                [s.execute(conn, p) for s, p in items]
                if run == "alone"
                else prepared.execute_together(conn, items)
            )
            answers.append([(r.all(), r.rowcount) for r in rows])
            tx.rollback()
    alone, together = answers
    assert together == alone
    assert len(alone[0][0]) == 1 and alone[2][0] and not alone[3][0] and alone[4][1] == 1


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_read_sent_with_a_row_lock_sees_the_commit_the_lock_waited_for(
    database: Database, world: World
) -> None:
    """A racer holds the instance lock and hands the task to someone else; the completion's
    statements wait for its commit, and the task's facts read after the lock see the new
    holder. Negative control: the same read sent before the lock sees the old one."""
    lock, facts = statement("instances.lock_with_task"), statement("access.task_facts")
    seen: dict[str, Any] = {}

    def complete(order: str, items: list[tuple[Prepared, dict[str, Any]]]) -> None:
        with database.engine.connect() as conn, conn.begin():
            rows = prepared.execute_together(conn, items)
            seen[order] = (rows[0] if order == "facts_first" else rows[1]).first().assignee

    for order, holder in (("lock_first", "zhao"), ("facts_first", "qian")):
        with database.engine.connect() as racer, racer.begin():
            lock.execute(racer, {"tid": world.task_id})
            racer.execute(update(TASKS).where(TASKS.c.id == world.task_id).values(assignee=holder))
            pair = [(lock, {"tid": world.task_id}), (facts, {"tid": world.task_id})]
            waiter = threading.Thread(
                target=complete, args=(order, pair if order == "lock_first" else pair[::-1])
            )
            waiter.start()
            waiter.join(0.5)
            assert waiter.is_alive(), "the lock did not wait for the racer"
        waiter.join(10)
    assert seen["lock_first"] == "zhao"  # committed by the racer while the lock waited
    assert seen["facts_first"] == "zhao"  # the control: read before the lock, not "qian"


@pytest.mark.parametrize("database", ["postgresql"], indirect=True)
def test_a_failing_statement_sent_together_stops_the_rest_and_rolls_back(
    database: Database, world: World
) -> None:
    moved = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)
    write = (
        statement("projections.reschedule_timer"),
        {"iid": world.instance_id, "sid": world.timers[0], "at": moved},
    )
    with (
        pytest.raises(psycopg.errors.InvalidTextRepresentation),
        database.engine.connect() as conn,
        conn.begin(),
    ):
        prepared.execute_together(conn, [write, (_NOT_A_NUMBER, {}), write])
    with database.engine.connect() as conn:
        fire_at = conn.execute(
            select(TIMERS.c.fire_at).where(
                TIMERS.c.instance_id == world.instance_id,
                TIMERS.c.spiff_task_id == world.timers[0],
            )
        ).scalar_one()
    assert fire_at != moved
