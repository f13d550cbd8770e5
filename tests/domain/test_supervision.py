"""督查 in the domain: the aging of overdue work, one row per overdue step, and 督办上报 (escalate)
— an urge of kind escalation on the overdue step, optionally with a 督办期限: who is told, what
is recorded."""

from __future__ import annotations

import json
from datetime import date

import pytest
from alembic import command
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from tests.conftest import at, set_clock
from tests.support import HASHER
from tests.support.world import World, make_world
from workflows import access, migrate
from workflows.cases.models import CaseFile
from workflows.engine import timers
from workflows.engine.models import AuditEvent, TaskAlarm
from workflows.errors import Conflict, Forbidden, ValidationFailed
from workflows.org import service as org
from workflows.runtime import Runtime
from workflows.supervision import views as supervision
from workflows.tasks import deadlines
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


def _registered(world: World, cadre: str = "zhang", *, considered: bool = True) -> CaseFile:
    """A case whose investigation is due 2026-04-15 00:00 (30 working days after 2026-03-02);
    with `considered`, the tolerance consideration (due with it) is done: only the
    investigation can run late."""
    case = world.open("accountability", cadre=cadre, data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    if considered:
        world.complete(
            case,
            "consider_tolerance",
            {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
            "discipline.hf",
        )
    return case


def _overdue(rt: Runtime, username: str = "supervisor.hf") -> list[supervision.OverdueTask]:
    """The whole overdue list as `username` sees it."""
    with rt.db.reading() as session:
        principal = access.principal_for(session, username=username)
        return list(
            supervision.overdue(
                session,
                principal=principal,
                clock=rt.clock,
                filters=supervision.Filters(),
                page=1,
                per_page=100,
            ).items
        )


def _row(rt: Runtime, task_id: int) -> supervision.OverdueTask:
    [row] = [r for r in _overdue(rt) if r.task_id == task_id]
    return row


def _sweep(rt: Runtime, moment: str) -> None:
    """What the scheduler does at `moment`: the process timers, then the steps' alarms."""
    set_clock(rt, moment)
    timers.sweep(rt.db, clock=rt.clock)
    deadlines.sweep(rt.db, clock=rt.clock)


def _aging(rt: Runtime, username: str = "supervisor.hf") -> dict[str, int]:
    with rt.db.reading() as session:
        principal = access.principal_for(session, username=username)
        return {
            b.key: b.overdue
            for b in supervision.aging(session, principal=principal, clock=rt.clock)
        }


def _escalate(
    rt: Runtime,
    task_id: int,
    note: str,
    username: str = "supervisor.hf",
    until: date | None = None,
) -> work.Escalation:
    with rt.transaction() as session:
        principal = access.principal_for(session, username=username)
        return work.escalate(
            session, principal=principal, task_id=task_id, note=note, clock=rt.clock, until=until
        )


@pytest.mark.parametrize(
    ("moment", "bucket"),
    [  # due at the end of 2026-04-14; the test clock runs on from where it is set
        ("2026-04-15 00:00:01", "1-3"),  # a second late is a working day overdue
        ("2026-04-19 23:59", "1-3"),  # the weekend adds nothing
        ("2026-04-20 00:01", "4-7"),
        ("2026-04-23 23:59", "4-7"),
        ("2026-04-24 00:01", "8-15"),
        ("2026-05-08 23:59", "8-15"),  # 劳动节 2026-05-01..05 are not working days
        ("2026-05-09 10:00", "16-30"),  # a 调休 Saturday is
        ("2026-05-28 23:59", "16-30"),
        ("2026-05-29 00:01", "31-"),
    ],
)
def test_aging_puts_an_overdue_task_in_the_bucket_of_its_working_days_overdue(
    world: World, rt: Runtime, moment: str, bucket: str
) -> None:
    _registered(world)
    set_clock(rt, moment)
    counts = _aging(rt)
    assert list(counts) == ["1-3", "4-7", "8-15", "16-30", "31-"]
    assert counts == {key: int(key == bucket) for key in counts}
    [item] = _overdue(rt)
    low, _, high = bucket.partition("-")
    assert item.element == "investigate"
    assert int(low) <= item.workdays_overdue <= (int(high) if high else 10_000)


def test_aging_counts_overdue_steps_from_their_due_date_and_only_in_scope(
    world: World, rt: Runtime
) -> None:
    """The steps stay with their holders after the sweeps; their age counts from the due date
    (2026-04-15 00:00), not from when a sweep noticed them."""
    hf = world.task(_registered(world), "investigate")
    fd = world.task(_registered(world, cadre="li"), "investigate")  # 肥东县, below 合肥市
    _sweep(rt, "2026-04-16 09:00")
    _sweep(rt, "2026-04-24 12:00")  # 8 working days after the due date (6 after that sweep)
    assert {(r.task_id, r.element) for r in _overdue(rt)} == {
        (hf.id, "investigate"),
        (fd.id, "investigate"),
    }
    assert _aging(rt)["8-15"] == 2 and sum(_aging(rt).values()) == 2
    assert sum(_aging(rt, "supervisor.wh").values()) == 0
    with rt.db.reading() as session, pytest.raises(Forbidden):
        supervision.aging(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            clock=rt.clock,
        )


def test_each_overdue_step_is_one_row_counted_once(world: World, rt: Runtime) -> None:
    """Investigation and tolerance consideration fall due together: two steps, two rows, each
    once in the summary, the list and the aging, however often they are swept and urged."""
    case = _registered(world, considered=False)
    investigate, consider = world.task(case, "investigate"), world.task(case, "consider_tolerance")
    assert investigate.due_at == consider.due_at
    _sweep(rt, "2026-04-15 09:00")
    _sweep(rt, "2026-04-16 09:00")
    _urge(rt, investigate.id, "请抓紧")
    _urge(rt, investigate.id, "再次催办")
    _escalate(rt, investigate.id, "逾期仍未报送")
    set_clock(rt, "2026-04-20 09:00")
    rows = _overdue(rt)
    assert sorted((r.task_id, r.element) for r in rows) == sorted(
        [(investigate.id, "investigate"), (consider.id, "consider_tolerance")]
    )
    by_id = {r.task_id: r for r in rows}
    assert (by_id[investigate.id].urge_count, by_id[investigate.id].escalations) == (3, 1)
    assert (by_id[consider.id].urge_count, by_id[consider.id].escalations) == (0, 0)
    # due 04-14: 04-15, 04-16, 04-17 and 04-20 are late
    assert {r.workdays_overdue for r in rows} == {4}
    assert sum(_aging(rt).values()) == 2
    with rt.db.reading() as session:
        principal = access.principal_for(session, username="supervisor.hf")
        summary = supervision.summary(session, principal=principal, clock=rt.clock)
        paged = supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=supervision.Filters(),
            page=1,
            per_page=10,
        )
    assert summary.total.overdue == 2 and paged.total == 2
    assert sorted(o.task_id for o in summary.oldest_overdue) == sorted(by_id)
    assert [c.overdue for c in summary.by_role if c.key == "discipline"] == [2]


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
    row = _row(rt, task.id)
    assert (row.urge_count, row.escalations, row.supervision_due_at) == (1, 1, None)


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


def test_an_escalated_step_can_be_escalated_again_with_a_new_supervision_deadline(
    world: World, rt: Runtime
) -> None:
    """督办 is a record on the overdue step, never a task of its own: the step stays with its
    holder; a 督办期限 is shown beside the original due date and goes overdue; escalating again
    reports upwards again (never to the escalating supervisor) and replaces the 督办期限."""
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
    task = world.task(case, "investigate")
    _sweep(rt, "2026-04-15 09:00")
    assert [t.task_spec for t in world.tasks(case)] == ["investigate"]  # no 督办 task
    first = _escalate(rt, task.id, "限期办结", until=date(2026, 4, 24))
    assert first.notified == ["committee.hf", "discipline.hf", "discipline2.hf", "supervisor.ah"]
    row = _row(rt, task.id)
    assert (row.due_at, row.supervision_due_at, row.supervision_overdue) == (
        at("2026-04-15 00:00"),
        at("2026-04-25 00:00"),
        False,
    )
    _sweep(rt, "2026-04-27 09:00")
    assert _row(rt, task.id).supervision_overdue is True
    with rt.db.reading() as session:
        late = session.execute(
            select(Notification).where(Notification.title.startswith("督办期限已过"))
        ).scalars()
        assert sorted(n.username for n in late) == ["discipline.hf", "discipline2.hf"]
    again = _escalate(rt, task.id, "市级督办无进展，报省级", until=date(2026, 5, 8))
    assert "supervisor.hf" not in again.notified and "supervisor.ah" in again.notified
    row = _row(rt, task.id)
    assert (row.supervision_due_at, row.supervision_overdue, row.escalations) == (
        at("2026-05-09 00:00"),
        False,
        2,
    )
    assert [t.task_spec for t in world.tasks(case)] == ["investigate"]
    with rt.db.reading() as session:
        alarms = session.execute(
            select(TaskAlarm.fire_at).where(
                TaskAlarm.spiff_task_id == task.spiff_task_id, TaskAlarm.kind == "supervision"
            )
        ).scalars()
        assert list(alarms) == [at("2026-05-09 00:00")]
    with pytest.raises(ValidationFailed) as refused:
        _escalate(rt, task.id, "限期办结", until=date(2026, 4, 26))  # before today
    assert [e["field"] for e in refused.value.errors] == ["until"]
    assert [kind for kind, _note in _kinds(rt)] == ["escalation", "escalation"]


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
    row = _row(rt, task.id)
    assert (row.urge_count, row.escalations) == (2, 1)


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
