"""督查 in the domain: the aging of overdue work, and 督办上报 (escalate) — who is told, what is recorded."""

from __future__ import annotations

import json

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import set_clock
from tests.support import HASHER
from tests.support.world import World, make_world
from workflows import access, migrate
from workflows.cases.models import CaseFile
from workflows.engine import timers
from workflows.engine.models import AuditEvent
from workflows.errors import Conflict, Forbidden, ValidationFailed
from workflows.org import service as org
from workflows.runtime import Runtime
from workflows.supervision import views as supervision
from workflows.tasks import service as work
from workflows.tasks.models import Notification, TaskUrge

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


def _registered(world: World, cadre: str = "zhang") -> CaseFile:
    case = world.open("accountability", cadre=cadre, data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    return case  # investigate is due 2026-04-15 00:00 (30 working days after 2026-03-02)


def _aging(rt: Runtime, username: str = "supervisor.hf") -> dict[str, int]:
    with rt.db.reading() as session:
        principal = access.principal_for(session, username=username)
        return {
            b.key: b.overdue
            for b in supervision.aging(session, principal=principal, clock=rt.clock)
        }


def _escalate(
    rt: Runtime, task_id: int, note: str, username: str = "supervisor.hf"
) -> work.Escalation:
    with rt.transaction() as session:
        principal = access.principal_for(session, username=username)
        return work.escalate(
            session, principal=principal, task_id=task_id, note=note, clock=rt.clock
        )


@pytest.mark.parametrize(
    ("moment", "bucket"),
    [  # the test clock runs on from where it is set
        ("2026-04-15 00:00:01", "1-3"),  # a second late is a day overdue
        ("2026-04-17 23:59", "1-3"),
        ("2026-04-18 00:01", "4-7"),  # a minute past three days
        ("2026-04-21 23:59", "4-7"),
        ("2026-04-22 00:01", "8-15"),
        ("2026-04-29 23:59", "8-15"),
        ("2026-04-30 00:01", "16-30"),
        ("2026-05-14 23:59", "16-30"),
        ("2026-05-15 00:01", "31-"),
    ],
)
def test_aging_puts_an_overdue_task_in_the_bucket_of_its_days_overdue(
    world: World, rt: Runtime, moment: str, bucket: str
) -> None:
    _registered(world)
    set_clock(rt, moment)
    counts = _aging(rt)
    assert list(counts) == ["1-3", "4-7", "8-15", "16-30", "31-"]
    assert counts == {key: int(key == bucket) for key in counts}
    with rt.db.reading() as session:
        principal = access.principal_for(session, username="supervisor.hf")
        items = supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=supervision.Filters(),
            page=1,
            per_page=10,
        ).items
    low, _, high = bucket.partition("-")
    assert int(low) <= items[0].days_overdue <= (int(high) if high else 10_000)


def test_aging_counts_escalations_from_when_the_deadline_fired_and_only_in_scope(
    world: World, rt: Runtime
) -> None:
    _registered(world)
    _registered(world, cadre="li")  # 肥东县, below 合肥市
    set_clock(rt, "2026-04-15 09:00")
    timers.sweep(rt.db, clock=rt.clock)  # both investigations become 督办 tasks created now
    set_clock(rt, "2026-04-20 10:00")
    assert _aging(rt)["4-7"] == 2 and sum(_aging(rt).values()) == 2
    assert sum(_aging(rt, "supervisor.wh").values()) == 0
    with rt.db.reading() as session, pytest.raises(Forbidden):
        supervision.aging(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            clock=rt.clock,
        )


def test_escalation_tells_the_task_owers_the_units_committee_and_the_supervisors_above(
    world: World, rt: Runtime
) -> None:
    case = _registered(world)
    with rt.db.transaction() as session:
        org.add_user(
            session,
            hasher=HASHER,
            username="supervisor.ah",
            display_name="省督查",
            password="demo-pass-1",
            role="supervisor",
            org_unit_code="ah",
            clock=rt.clock,
        )
    set_clock(rt, "2026-04-20 09:00")
    task = world.task(case, "investigate")
    done = _escalate(rt, task.id, "  逾期五天仍未报送调查报告  ")
    assert done.notified == ["committee.hf", "discipline.hf", "discipline2.hf", "supervisor.ah"]
    with rt.db.reading() as session:
        urge = session.execute(select(TaskUrge)).scalar_one()
        assert (
            urge.note == "【督办上报】逾期五天仍未报送调查报告" and urge.urged_by == "supervisor.hf"
        )
        notices = session.execute(
            select(Notification).where(Notification.username == "supervisor.ah")
        ).scalar_one()
        assert notices.title == f"督办：责任调查（{case.number}）已逾期" and notices.kind == "urged"
        assert "逾期五天仍未报送调查报告" in notices.body
        row = session.execute(
            select(AuditEvent).where(AuditEvent.action == "task.escalate")
        ).scalar_one()
        assert row.actor == "supervisor.hf" and row.object_id == str(task.id)
        detail = json.loads(row.detail)
        assert detail["reported_to"] == ["supervisor.ah"] and detail["committee"] == [
            "committee.hf"
        ]
        principal = access.principal_for(session, username="supervisor.hf")
        items = supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=supervision.Filters(),
            page=1,
            per_page=10,
        ).items
    assert (items[0].urge_count, items[0].escalations) == (1, 1)


def test_escalation_needs_overdue_work_a_note_and_a_supervisor_over_the_unit(
    world: World, rt: Runtime
) -> None:
    case = _registered(world)
    task = world.task(case, "investigate")
    with pytest.raises(Conflict, match="尚未逾期"):
        _escalate(rt, task.id, "请抓紧")
    set_clock(rt, "2026-04-20 09:00")
    with pytest.raises(ValidationFailed) as refused:
        _escalate(rt, task.id, "   ")
    assert refused.value.errors == [{"field": "note", "message": "督办说明应为 1–994 个字"}]
    with pytest.raises(Forbidden):
        _escalate(rt, task.id, "请抓紧", username="admin.hf")
    with pytest.raises(Forbidden):
        _escalate(rt, task.id, "请抓紧", username="committee.hf")
    done = _escalate(
        rt, task.id, "请抓紧"
    )  # 合肥市 has no unit above with supervisors in this world
    assert "supervisor.ah" not in done.notified and "committee.hf" in done.notified


def test_an_escalation_task_can_itself_be_escalated_upwards(world: World, rt: Runtime) -> None:
    case = _registered(world)
    with rt.db.transaction() as session:
        org.add_user(
            session,
            hasher=HASHER,
            username="supervisor.ah",
            display_name="省督查",
            password="demo-pass-1",
            role="supervisor",
            org_unit_code="ah",
            clock=rt.clock,
        )
    set_clock(rt, "2026-04-15 09:00")
    timers.sweep(rt.db, clock=rt.clock)  # the 督办 task is 合肥市's supervisors' own
    escalation = world.task(case, "escalate")
    done = _escalate(rt, escalation.id, "市级督办无进展，报省级")
    assert done.notified == ["committee.hf", "supervisor.ah"]  # never the escalating supervisor


def _urge(rt: Runtime, task_id: int, note: str) -> TaskUrge:
    with rt.transaction() as session:
        principal = access.principal_for(session, username="supervisor.hf")
        return work.urge(session, principal=principal, task_id=task_id, note=note, clock=rt.clock)


def _kinds(rt: Runtime) -> list[tuple[str, str]]:
    with rt.db.reading() as session:
        return [
            (u.kind, u.note)
            for u in session.execute(select(TaskUrge).order_by(TaskUrge.id)).scalars()
        ]


def test_an_escalation_is_a_kind_of_urge_and_a_plain_urge_cannot_pass_for_one(
    world: World, rt: Runtime
) -> None:
    task = world.task(_registered(world), "investigate")
    set_clock(rt, "2026-04-20 09:00")
    with pytest.raises(ValidationFailed) as refused:
        _urge(rt, task.id, "【督办上报】请抓紧")
    assert refused.value.errors == [
        {"field": "note", "message": "催办说明不能以“【督办上报】”开头：逾期任务请用督办上报"}
    ]
    _urge(rt, task.id, "请抓紧")
    _escalate(rt, task.id, "逾期仍未报送")
    assert _kinds(rt) == [("urge", "请抓紧"), ("escalation", "【督办上报】逾期仍未报送")]
    with rt.db.reading() as session:
        principal = access.principal_for(session, username="supervisor.hf")
        items = supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=supervision.Filters(),
            page=1,
            per_page=10,
        ).items
    assert (items[0].urge_count, items[0].escalations) == (2, 1)


def test_migration_0008_classifies_earlier_urges_by_the_audit_trail(
    world: World, rt: Runtime
) -> None:
    """Down to 0007 (no kind: the mark in the note was all there was), up again: the audit
    trail's task.escalate rows say which urges were escalations; the table stays append-only."""
    task = world.task(_registered(world), "investigate")
    set_clock(rt, "2026-04-20 09:00")
    _urge(rt, task.id, "请抓紧")
    _escalate(rt, task.id, "逾期仍未报送")
    url = rt.db.url
    rt.db.dispose()
    try:
        command.downgrade(migrate.alembic_config(url), "0007")
        with rt.db.engine.begin() as conn:  # what 0007 allowed: a plain urge with the mark
            conn.execute(
                text(
                    "INSERT INTO task_urge (task_id, instance_id, urged_by, note, created_at) "
                    "SELECT task_id, instance_id, urged_by, :note, created_at FROM task_urge"
                ),
                {"note": "【督办上报】其实只是催办"},
            )
        rt.db.dispose()
    finally:
        migrate.upgrade(url)
    assert [kind for kind, _note in _kinds(rt)] == ["urge", "escalation", "urge", "urge"]
    with pytest.raises(DBAPIError, match="append-only"), rt.db.transaction() as session:
        session.execute(text("UPDATE task_urge SET kind = 'escalation'"))
