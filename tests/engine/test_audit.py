"""The audit trail is a hash chain the database keeps append-only; tampering by someone
who bypasses the database's own guard (an admin disabling the trigger) is detected and
the broken row is named, by the library and by `cadreflow audit verify`.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from sqlalchemy import exc, func, select, text

from tests.conftest import FORMS, set_clock
from tests.support import complete, deploy, start, task_named
from tests.support.cli import cadreflow
from workflows.engine import audit
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime


def _operate(rt: Runtime) -> int:
    """Deploy, start two cases, complete one task; returns the number of audit rows."""
    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    first = start(rt, "deadline", {"registered_on": "2026-11-02"})
    start(rt, "deadline", {"registered_on": "2026-11-03"})
    complete(
        rt,
        task_named(rt, "investigate", first).id,
        {"responsible": True, "severity": 2, "finding": "应负直接责任"},
    )
    with rt.db.reading() as session:
        return session.execute(select(func.count()).select_from(AuditEvent)).scalar_one()


def _verify(rt: Runtime) -> audit.Verification:
    with rt.db.reading() as session:
        return audit.verify(session)


def _as_admin(rt: Runtime, statement: str, **params: object) -> None:
    """Runs a write on audit_event the way an attacker with admin rights would: with the
    append-only trigger out of the way (PostgreSQL: disabled and re-enabled in the same
    transaction, so no other test ever sees it off)."""
    with rt.db.engine.begin() as conn:
        if rt.db.dialect == "sqlite":
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_update")
            conn.exec_driver_sql("DROP TRIGGER IF EXISTS audit_event_no_delete")
            conn.execute(text(statement), params)
        else:
            conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")
            conn.execute(text(statement), params)
            conn.exec_driver_sql("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only")


def _cli_verify(rt: Runtime, *, subprocess_: bool = False) -> subprocess.CompletedProcess[str]:
    """`cadreflow audit verify` on the test database: its entry point in this process, or the
    real console script (tests/support/cli.py)."""
    env = {
        **os.environ,
        "CADREFLOW_DATABASE_URL": rt.db.url,
        "CADREFLOW_FORMS_DIR": str(FORMS),
        "CLOCK_ADJUSTABLE": "1",
    }
    return cadreflow("audit", "verify", env=env, subprocess_=subprocess_)


def test_chain_of_real_operations_verifies_and_counts_every_row(rt: Runtime) -> None:
    rows = _operate(rt)
    assert rows == 4  # process.deploy, 2 × instance.start, task.complete

    result = _verify(rt)

    assert result == audit.Verification(True, 4)
    with rt.db.reading() as session:
        actions = session.execute(select(AuditEvent.action).order_by(AuditEvent.id)).scalars().all()
    assert actions == ["process.deploy", "instance.start", "instance.start", "task.complete"]


def test_tampered_detail_is_detected_at_that_row(rt: Runtime) -> None:
    _operate(rt)
    _as_admin(
        rt,
        "UPDATE audit_event SET detail = :d WHERE id = 3",
        d=json.dumps({"org_unit": "elsewhere", "process": "deadline", "version": 1}),
    )

    result = _verify(rt)

    assert not result.ok
    assert result.broken_at == 3
    assert result.checked == 2
    assert "does not match its hash" in result.reason


def test_tampered_row_with_recomputed_hash_breaks_the_next_link(rt: Runtime) -> None:
    _operate(rt)
    with rt.db.reading() as session:
        row = session.get(AuditEvent, 2)
        assert row is not None
        values = {name: getattr(row, name) for name in audit._FIELDS}
    values["detail"] = json.dumps({"forged": True})
    forged_hash = audit._digest(values)
    _as_admin(
        rt,
        "UPDATE audit_event SET detail = :d, hash = :h WHERE id = 2",
        d=values["detail"],
        h=forged_hash,
    )

    result = _verify(rt)

    assert not result.ok
    assert result.broken_at == 3
    assert "link" in result.reason


def test_deleted_middle_row_is_detected_as_missing(rt: Runtime) -> None:
    _operate(rt)
    _as_admin(rt, "DELETE FROM audit_event WHERE id = 2")

    result = _verify(rt)

    assert not result.ok
    assert result.broken_at == 2
    assert result.reason == "row 2 is missing"


def test_deleted_last_row_is_detected_through_the_head(rt: Runtime) -> None:
    rows = _operate(rt)
    _as_admin(rt, "DELETE FROM audit_event WHERE id = :i", i=rows)

    result = _verify(rt)

    assert not result.ok
    assert result.broken_at == rows
    assert "removed" in result.reason


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET detail = '{}' WHERE id = 2",
        "DELETE FROM audit_event WHERE id = 2",
    ],
)
def test_database_refuses_plain_update_or_delete_of_audit_rows(rt: Runtime, statement: str) -> None:
    rows = _operate(rt)

    with pytest.raises(exc.DBAPIError, match="append-only"), rt.db.engine.begin() as conn:
        conn.execute(text(statement))

    assert _verify(rt) == audit.Verification(True, rows)


def test_cli_audit_verify_exits_1_and_names_the_tampered_row(rt: Runtime) -> None:
    rows = _operate(rt)
    intact = _cli_verify(rt)
    assert intact.returncode == 0, intact.stderr
    assert f"audit trail intact: {rows} row(s) verified" in intact.stdout

    _as_admin(rt, "UPDATE audit_event SET actor = 'nobody' WHERE id = 4")
    broken = _cli_verify(rt, subprocess_=True)  # the real script's exit code

    assert broken.returncode == 1, (broken.stdout, broken.stderr)
    assert "audit trail broken at row 4" in broken.stderr
    assert "does not match its hash" in broken.stderr


# --- Completeness: a change with no row at all (never chained) is found too. ---------------


def _cut_and_rechain(rt: Runtime, action: str) -> int:
    """Removes the last row of `action` and re-chains every row after it, the way a row that
    was never written looks (the chain itself intact); returns the removed row's id."""
    with rt.db.reading() as session:
        gone = session.execute(
            select(func.max(AuditEvent.id)).where(AuditEvent.action == action)
        ).scalar_one()
        later = (
            session.execute(select(AuditEvent).where(AuditEvent.id > gone).order_by(AuditEvent.id))
            .scalars()
            .all()
        )
        prev_hash = (
            session.execute(select(AuditEvent.hash).where(AuditEvent.id == gone - 1)).scalar_one()
            if gone > 1
            else audit.GENESIS
        )
        rows = [{name: getattr(row, name) for name in ("id", *audit._BODY)} for row in later]
    _as_admin(rt, "DELETE FROM audit_event WHERE id = :i", i=gone)
    for values in rows:
        values["id"] -= 1
        values["prev_hash"] = prev_hash
        values["hash"] = prev_hash = audit._digest(values)
        _as_admin(
            rt,
            "UPDATE audit_event SET id = :id, prev_hash = :prev_hash, hash = :hash WHERE id = :old",
            old=values["id"] + 1,
            **{k: values[k] for k in ("id", "prev_hash", "hash")},
        )
    with rt.db.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_head SET last_id = last_id - 1, last_hash = :h WHERE id = 1"),
            {"h": prev_hash},
        )
    return gone


def test_a_completion_without_its_row_is_reported_by_verify(rt: Runtime) -> None:
    rows = _operate(rt)
    task_id = int(_verify_and_last(rt, "task.complete"))

    _cut_and_rechain(rt, "task.complete")
    result = _verify(rt)

    assert not result.ok and result.checked == rows - 1 and result.broken_at is None
    assert result.reason.startswith(f"任务 {task_id}（investigate")
    assert "缺少其 task.complete 审计记录" in result.reason
    cli = _cli_verify(rt)
    assert cli.returncode == 1 and "audit trail incomplete" in cli.stderr, cli.stderr


def test_a_fired_timer_without_its_row_is_a_gap_in_its_instance_sequence(rt: Runtime) -> None:
    from tests.conftest import advance_clock
    from workflows.engine import timers

    set_clock(rt, "2026-11-02 09:00")
    deploy(rt, "deadline.bpmn")
    iid = start(rt, "deadline", {"registered_on": "2026-11-02"})
    advance_clock(rt, days=40)  # the reminder and the deadline are due
    assert timers.sweep(rt.db, clock=rt.clock) >= 1
    assert _verify(rt).ok

    _cut_and_rechain(rt, "timer.fire")
    result = _verify(rt)

    assert not result.ok and result.broken_at is None
    assert result.reason.startswith(f"实例 {iid} 的第 3 次状态变更"), result.reason


def test_a_case_without_its_open_row_is_reported_by_verify(rt: Runtime) -> None:
    from tests.support.world import make_world

    world = make_world(rt)
    case = world.open(
        "accountability", data={"source": "audit", "facts": "审计发现问题", "evidence": "审计报告"}
    )
    assert _verify(rt).ok

    _cut_and_rechain(rt, "case.open")
    result = _verify(rt)

    assert not result.ok
    assert result.reason == f"案件 {case.number}（{case.id}）已登记，但缺少其 case.open 审计记录"


def _verify_and_last(rt: Runtime, action: str) -> str:
    with rt.db.reading() as session:
        assert audit.verify(session).ok
        return session.execute(
            select(AuditEvent.object_id)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).scalar_one()
