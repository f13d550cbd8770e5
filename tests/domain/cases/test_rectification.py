"""Rectification 纠错整改 (DOMAIN.md §2.4; source §12): one test per rule of
bpmn/rectification.bpmn, each on SQLite and PostgreSQL.

Every step is its own transaction through `instances.advance`, which restores the
instance from its stored state and stores it again: every scenario here runs with
save/restore between every step. Deadlines are reached by moving the clock and
sweeping the timers and the steps' alarms, as the scheduler does.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from docx import Document
from sqlalchemy import func, select

from tests.conftest import at, set_clock
from tests.support.world import World, make_world
from workflows import access
from workflows.cases import service as cases
from workflows.cases.models import CaseFile, RectificationRequirement, VerificationRound
from workflows.documents.models import CaseDocument
from workflows.engine import timers
from workflows.engine.models import Instance, TaskAlarm, Timer
from workflows.errors import ValidationFailed
from workflows.official import kinds
from workflows.official.models import OfficialDocument
from workflows.runtime import Runtime
from workflows.supervision import views as supervision
from workflows.tasks import deadlines
from workflows.tasks.models import Notification

DEADLINE = "2026-06-30"  # a Tuesday; 2026-06-19 is the Dragon Boat holiday
REQUIREMENTS = "完善专项资金拨付审批程序，追回违规拨付资金"
#: basis → (issuing and verifying task suffix, a user of that department)
ISSUER = {
    "tolerance": ("org", "organization.hf"),
    "accountability": ("discipline", "discipline.hf"),
    "first_form": ("discipline", "discipline.hf"),
}


def _world(rt: Runtime, *, accountability: bool = False) -> World:
    return make_world(
        rt, processes=["rectification", *(["accountability"] if accountability else [])]
    )


def _open(w: World, basis: str = "tolerance", deadline: str = DEADLINE, **data: Any) -> CaseFile:
    return w.open(
        "rectification",
        user=ISSUER[basis][1],
        data={
            "requirements": REQUIREMENTS,
            "deadline": deadline,
            "basis": basis,
            "issued_by": "committee.hf",
            **data,
        },
    )


def _issue(w: World, case: CaseFile, basis: str = "tolerance", deadline: str = DEADLINE) -> None:
    suffix, user = ISSUER[basis]
    w.complete(case, f"issue_{suffix}", {"requirements": REQUIREMENTS, "deadline": deadline}, user)


def _plan(w: World, case: CaseFile) -> None:
    w.complete(
        case,
        "plan",
        {
            "plan": "三月底前修订审批办法，四月底前追回资金",
            "plan_submitted_on": w.today().isoformat(),
        },
        "unit.hf",
    )


def _report(w: World, case: CaseFile, report_type: str = "progress") -> None:
    w.complete(
        case,
        "report",
        {
            "report_type": report_type,
            "report": "审批办法已修订，资金已追回一半",
            "reported_on": w.today().isoformat(),
        },
        "unit.hf",
    )


def _reported(w: World, basis: str = "tolerance") -> CaseFile:
    """A case whose unit has reported completion, awaiting verification."""
    case = _open(w, basis)
    _issue(w, case, basis)
    _plan(w, case)
    _report(w, case)
    _report(w, case, "completion")
    return case


def _verify(
    w: World, case: CaseFile, result: str, note: str = "", basis: str = "tolerance", **extra: Any
) -> None:
    suffix, user = ISSUER[basis]
    form = {"result": result, "verified_on": w.today().isoformat(), **extra}
    if note:
        form["verification_note"] = note
    w.complete(case, f"verify_{suffix}", form, user)


def _open_elements(w: World, case: CaseFile) -> list[str]:
    return sorted(t.task_spec for t in w.tasks(case))


def _sweep(rt: Runtime, moment: str) -> None:
    """What the scheduler does at `moment`: the process timers, then the steps' alarms."""
    set_clock(rt, moment)
    timers.sweep(rt.db, clock=rt.clock)
    deadlines.sweep(rt.db, clock=rt.clock)


def _notices(rt: Runtime, kind: str) -> list[Notification]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(Notification).where(Notification.kind == kind).order_by(Notification.id)
            ).scalars()
        )


def _count(rt: Runtime, model: type) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _instance_status(w: World, case: CaseFile) -> str:
    with w.rt.db.reading() as session:
        instance = session.get(Instance, w.case(case.id).instance_id)
        assert instance is not None
        return instance.status


# --- issuing --------------------------------------------------------------------------------


def test_rectification_deadline_in_the_past_is_refused(rt: Runtime) -> None:
    w = _world(rt)
    case = _open(w, deadline="2026-03-01")
    with pytest.raises(
        ValidationFailed, match=r"§12 责令限期整改：整改期限 2026-03-01 已过"
    ) as refused:
        _issue(w, case, deadline="2026-03-01")
    assert refused.value.errors[0]["field"] == "deadline"
    assert _count(rt, RectificationRequirement) == 0
    assert _open_elements(w, case) == ["issue_org"]
    _issue(w, case, deadline=DEADLINE)  # a deadline not in the past is accepted
    with rt.db.reading() as session:
        row = session.execute(select(RectificationRequirement)).scalar_one()
        assert (row.deadline.isoformat(), row.issued_by, row.requirements) == (
            DEADLINE,
            "committee.hf",
            REQUIREMENTS,
        )
    assert _open_elements(w, case) == ["plan"]


def test_rectification_needs_a_known_basis(rt: Runtime) -> None:
    w = _world(rt)
    with pytest.raises(ValidationFailed, match="§12 纠错整改须注明依据"):
        w.open(
            "rectification",
            data={
                "requirements": REQUIREMENTS,
                "deadline": DEADLINE,
                "basis": "hearsay",
                "issued_by": "committee.hf",
            },
        )
    assert _count(rt, CaseFile) == 0


def test_tolerance_rectification_is_issued_and_verified_by_organization(rt: Runtime) -> None:
    w = _world(rt)
    case = _reported(w, "tolerance")
    tasks = w.tasks(case)
    assert [(t.task_spec, t.role) for t in tasks] == [("verify_org", "organization")]
    first_form = _open(w, "first_form")
    assert [(t.task_spec, t.role) for t in w.tasks(first_form)] == [
        ("issue_discipline", "discipline")
    ]


# --- reminders and the deadline --------------------------------------------------------------


def test_reminder_five_working_days_before_rectification_deadline(rt: Runtime) -> None:
    """The report step is due with the rectification deadline; 5 working days before it the
    unit is reminded by a notice from the alarm sweep, not by a task in its queue."""
    w = _world(rt)
    case = _open(w)
    _issue(w, case)
    _plan(w, case)
    report = w.task(case, "report")
    with rt.db.reading() as session:
        timer_at = {t.task_spec: t.fire_at for t in session.execute(select(Timer)).scalars()}
        alarm_at = {
            a.kind: a.fire_at
            for a in session.execute(
                select(TaskAlarm).where(TaskAlarm.spiff_task_id == report.spiff_task_id)
            ).scalars()
        }
    assert timer_at == {"overdue": at("2026-07-01 00:00")}  # the process branches on it
    # 5 working days before 2026-06-30 is 2026-06-23 (06-19 is a holiday): reminded as it starts
    assert alarm_at == {"remind": at("2026-06-23 00:00"), "overdue": at("2026-07-01 00:00")}
    _sweep(rt, "2026-06-22 23:00")
    assert _notices(rt, "due_soon") == []
    _sweep(rt, "2026-06-23 09:00")
    [reminded] = _notices(rt, "due_soon")
    assert (reminded.username, reminded.task_id, reminded.case_id) == (
        "unit.hf",
        report.id,
        case.id,
    )
    assert reminded.title == f"临期提醒：报告整改进展（{case.number}）"
    assert reminded.body.startswith(f"办理期限 {DEADLINE}（责令限期整改：{DEADLINE} 前完成）")
    assert _open_elements(w, case) == ["report"]  # no reminder task
    assert w.case(case.id).status == "open"
    _sweep(rt, "2026-06-25 09:00")  # fired once
    assert len(_notices(rt, "due_soon")) == 1


def test_a_progress_report_does_not_repeat_the_reminder(rt: Runtime) -> None:
    """design.md: the reminder fires once per round (per rectification deadline)."""
    w = _world(rt)
    case = _open(w)
    _issue(w, case)
    _plan(w, case)
    _sweep(rt, "2026-06-23 09:00")
    assert len(_notices(rt, "due_soon")) == 1
    _report(w, case)  # a progress report: the next report is due on the same deadline
    assert w.task(case, "report").due_at == at("2026-07-01 00:00")
    _sweep(rt, "2026-06-25 09:00")
    assert len(_notices(rt, "due_soon")) == 1


def test_missed_rectification_deadline_marks_the_case_overdue_and_the_report_stays_open(
    rt: Runtime,
) -> None:
    """The deadline boundary marks the case 逾期; the report step stays with the unit, which is
    told, and the supervisor's list has one row for it (not one per reminder)."""
    w = _world(rt)
    case = _open(w)
    _issue(w, case)
    _plan(w, case)
    report = w.task(case, "report")
    _sweep(rt, "2026-06-30 23:00")
    assert w.case(case.id).status == "open"
    assert _notices(rt, "overdue") == []
    _sweep(rt, "2026-07-01 00:30")
    assert w.case(case.id).status == "overdue"
    [still] = w.tasks(case)
    assert (still.id, still.task_spec, still.role, still.due_at) == (
        report.id,
        "report",
        "unit",
        at("2026-07-01 00:00"),
    )
    [told] = _notices(rt, "overdue")
    assert (told.username, told.task_id) == ("unit.hf", report.id) and "仍由你办理" in told.body
    with rt.db.reading() as session:
        principal = access.principal_for(session, username="supervisor.hf")
        rows = supervision.overdue(
            session,
            principal=principal,
            clock=rt.clock,
            filters=supervision.Filters(),
            page=1,
            per_page=100,
        ).items
        assert supervision.summary(session, principal=principal, clock=rt.clock).total.overdue == 1
    assert [(r.task_id, r.element, r.escalation, r.workdays_overdue) for r in rows] == [
        (report.id, "report", False, 1)
    ]
    assert rows[0].due_basis == f"责令限期整改：{DEADLINE} 前完成"
    _sweep(rt, "2026-07-02 09:00")  # the boundary fired once: nothing more is opened
    assert [t.task_spec for t in w.tasks(case)] == ["report"] and len(_notices(rt, "overdue")) == 1
    _report(w, case, "completion")  # the reporting task stayed open
    assert w.case(case.id).status == "verifying"
    _verify(w, case, "accepted")
    assert w.case(case.id).status == "closed"
    assert w.tasks(case) == []
    assert _instance_status(w, case) == "completed"
    _sweep(rt, "2026-08-03 09:00")  # the closed steps' alarms are dropped, telling no one
    assert _count(rt, TaskAlarm) == 0 and len(_notices(rt, "overdue")) == 1


# --- verification ---------------------------------------------------------------------------


def test_accepted_rectification_closes_case(rt: Runtime) -> None:
    w = _world(rt)
    case = _reported(w)
    _verify(w, case, "accepted")
    closed = w.case(case.id)
    assert (closed.status, closed.outcome, closed.closed_at is not None) == (
        "closed",
        "accepted",
        True,
    )
    with rt.db.reading() as session:
        row = session.execute(select(VerificationRound)).scalar_one()
        assert (row.round, row.result, row.verified_by) == (1, "accepted", "organization.hf")
    assert _instance_status(w, case) == "completed"


def test_failed_verification_needs_a_note(rt: Runtime) -> None:
    w = _world(rt)
    case = _reported(w)
    with pytest.raises(ValidationFailed) as refused:
        _verify(w, case, "ineffective")
    assert refused.value.errors == [
        {
            "field": "verification_note",
            "message": "选择「验收结论：退回补充整改、整改不力或拒不整改」时必填："
            "§12 验收未通过的，须写明验收意见",
        }
    ]
    assert _count(rt, VerificationRound) == 0
    assert _open_elements(w, case) == ["verify_org"]


def test_returned_rectification_runs_another_round_with_a_new_deadline(rt: Runtime) -> None:
    w = _world(rt)
    case = _reported(w)
    with pytest.raises(ValidationFailed, match="已过"):
        _verify(w, case, "returned", "资金尚未全部追回", new_deadline="2026-03-01")
    _verify(w, case, "returned", "资金尚未全部追回", new_deadline="2026-08-31")
    assert _open_elements(w, case) == ["report"]  # the plan stands; reporting resumes
    with rt.db.reading() as session:
        deadlines = [
            r.deadline.isoformat()
            for r in session.execute(
                select(RectificationRequirement).order_by(RectificationRequirement.id)
            ).scalars()
        ]
        fire_at = {t.task_spec: t.fire_at for t in session.execute(select(Timer)).scalars()}
    assert deadlines == [DEADLINE, "2026-08-31"]
    assert fire_at["overdue"] == at("2026-09-01 00:00")
    with rt.db.reading() as session:  # the new terms reach the cadre in writing: a new notice
        notices = list(
            session.execute(
                select(OfficialDocument)
                .where(
                    OfficialDocument.case_id == case.id,
                    OfficialDocument.kind == kinds.RECTIFICATION,
                )
                .order_by(OfficialDocument.id)
            ).scalars()
        )
        assert [(n.issue, n.version) for n in notices] == [(1, 1), (2, 1)]
        assert notices[0].number != notices[1].number
        added = session.get(CaseDocument, notices[1].docx_document_id)
        assert added is not None
        text = "\n".join(p.text for p in Document(io.BytesIO(added.content)).paragraphs)
    assert "资金尚未全部追回" in text and "二〇二六年八月三十一日" in text, text
    _report(w, case, "completion")
    _verify(w, case, "accepted")
    with rt.db.reading() as session:
        rounds = [
            (r.round, r.result)
            for r in session.execute(
                select(VerificationRound).order_by(VerificationRound.round)
            ).scalars()
        ]
    assert rounds == [(1, "returned"), (2, "accepted")]


def _fails_into_accountability(rt: Runtime, result: str) -> None:
    w = _world(rt, accountability=True)
    case = _reported(w, "accountability")
    _verify(w, case, result, "整改流于形式，资金仍未追回", basis="accountability")
    closed = w.case(case.id)
    assert (closed.status, closed.outcome) == ("closed", result)
    with rt.db.reading() as session:
        links = cases.linked(session, case.id)
        assert [(d, link.kind, other.kind) for d, link, other in links] == [
            ("to", "accountability", "accountability")
        ]
        opened = links[0][2]
        assert (opened.source, opened.cadre_id, opened.status) == (
            "failed_rectification",
            w.cadres["zhang"],
            "open",
        )
        assert [d for d, _link, _other in cases.linked(session, opened.id)] == ["from"]
    assert [t.task_spec for t in w.tasks(opened)] == ["register"]


def test_refused_rectification_opens_accountability_case(rt: Runtime) -> None:
    _fails_into_accountability(rt, "refused")


def test_ineffective_rectification_opens_accountability_case(rt: Runtime) -> None:
    _fails_into_accountability(rt, "ineffective")


def test_first_form_correction_runs_rectification(rt: Runtime) -> None:
    w = _world(rt)
    case = _open(w, "first_form", requirements="谈话提醒：立即纠正会议费超标问题")
    assert w.case(case.id).source == "first_form"
    _issue(w, case, "first_form")
    _plan(w, case)
    _report(w, case, "completion")
    _verify(w, case, "accepted", basis="first_form")
    assert (w.case(case.id).status, w.case(case.id).outcome) == ("closed", "accepted")


def test_reporting_tasks_show_the_rectification_deadline_as_due_date(rt: Runtime) -> None:
    """Reports run inside a subprocess: `dueAt` gives their due date, the end of the deadline
    day in the deployment's time zone. The plan has its own time limit (10 working days)."""
    w = _world(rt)
    case = _open(w)
    _issue(w, case)
    plan = w.task(case, "plan")
    assert plan.due_at == at("2026-03-17 00:00")  # 10 working days after 2026-03-02
    assert plan.due_basis == "分配之日 2026-03-02 起10个工作日"
    _plan(w, case)
    report = w.task(case, "report")
    assert report.due_at == at("2026-07-01 00:00")
    assert report.due_basis == f"责令限期整改：{DEADLINE} 前完成"
    _report(w, case)  # the next report keeps the deadline
    again = w.task(case, "report")
    assert (again.id != report.id, again.due_at, again.due_basis) == (
        True,
        at("2026-07-01 00:00"),
        f"责令限期整改：{DEADLINE} 前完成",
    )
