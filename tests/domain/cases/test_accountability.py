"""Accountability 问责 (DOMAIN.md §2.1; §6, §9, §11, §12): one test per rule of
bpmn/accountability.bpmn, each on SQLite and PostgreSQL.

Every step is its own transaction through `instances.advance`, which restores the
instance from its stored state and stores it again: every scenario here runs with
save/restore between every step. Where the tolerance review (2.2) takes part, a
stand-in process plays it and the test delivers its determination as the
`tolerance_determined` message the review sends when its opinion is approved; the last
two tests run the real review end to end.
"""

from __future__ import annotations

import json
import os
import re
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import at, set_clock
from tests.support.cli import cadreflow
from tests.support.world import FORMS, ROOT, World, make_world
from workflows import access
from workflows.cadres import service as cadres
from workflows.cadres.models import PromotionBan
from workflows.cases import accountability
from workflows.cases import service as cases
from workflows.cases.models import CaseFile, CaseLink, Decision
from workflows.definitions import deployment, step_limits
from workflows.engine import functions, instances, timers, versions
from workflows.engine import spiff as engine
from workflows.engine.models import HumanTask, Instance, ProcessVersion, TaskAlarm, Timer
from workflows.errors import ValidationFailed
from workflows.runtime import Runtime
from workflows.supervision import views as supervision
from workflows.tasks import deadlines
from workflows.tasks import service as work
from workflows.tasks.models import Notification, TaskUrge

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
REASON = "经调查，对违规拨付专项资金负主要领导责任，情节较重"
REVIEW_STAND_IN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="Defs_stand_in"
  targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="tolerance_review" name="容错免责（测试替身）" isExecutable="true">
    <bpmn:laneSet id="ls"><bpmn:lane id="l1" name="discipline">
      <bpmn:flowNodeRef>accept</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="start" name="收到"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="accept" name="受理">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end" name="完成"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="accept" />
    <bpmn:sequenceFlow id="f2" sourceRef="accept" targetRef="end" />
  </bpmn:process>
</bpmn:definitions>
"""

only_sqlite = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


# --- steps --------------------------------------------------------------------------------


def _world(rt: Runtime, *, today: str = "2026-03-02 09:00", review: bool = False) -> World:
    world = make_world(rt, today=today, processes=["accountability"])
    if review:  # the tolerance review stand-in
        with rt.db.transaction() as session:
            stand_in = deployment.SourceFile("tolerance_review.bpmn", REVIEW_STAND_IN.encode())
            deployment.deploy(
                session,
                files=[stand_in],
                form_source=deployment.FormFolder(FORMS),
                max_bytes=2_000_000,
                actor="designer.hf",
                clock=rt.clock,
                note="测试部署",
                confirm=True,
            )
    return world


def _registered(w: World, **data: Any) -> CaseFile:
    case = w.open("accountability", data={**FINDING, **data})
    w.complete(case, "register", {}, "discipline.hf")
    return case


def _investigated(w: World, case: CaseFile) -> None:
    w.complete(
        case,
        "investigate",
        {"findings": "违规拨付属实", "responsibility": "main_leadership"},
        "discipline.hf",
    )


def _no_tolerance(w: World, case: CaseFile) -> None:
    w.complete(
        case,
        "consider_tolerance",
        {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
        "discipline.hf",
    )


def _ready_to_decide(w: World, **data: Any) -> CaseFile:
    case = _registered(w, **data)
    _investigated(w, case)
    _no_tolerance(w, case)
    return case


def _decide(
    w: World,
    case: CaseFile,
    outcome: str,
    adjustment: str | None = None,
    decided_on: str | None = None,
    reason: str = REASON,
) -> None:
    form = {"outcome": outcome, "reason": reason, "decided_on": decided_on or w.today().isoformat()}
    if adjustment:
        form["adjustment"] = adjustment
    w.complete(case, "decide", form, "committee.hf")


def _deliver(rt: Runtime, case: CaseFile, payload: dict[str, Any]) -> bool:
    """What the tolerance review's approval does: the message, under the instance lock."""
    delivered: list[bool] = []
    with rt.transaction() as session:
        locked = instances.lock_instance(session, case.instance_id)
        instances.advance(
            session,
            instance=locked,
            clock=rt.clock,
            step=instances.Step(
                action="message.deliver",
                actor="committee.hf",
                apply=lambda run: delivered.append(
                    run.deliver_message("tolerance_determined", payload)
                ),
            ),
        )
    return delivered[0]


def _sweep(rt: Runtime, moment: str) -> None:
    set_clock(rt, moment)
    timers.sweep(rt.db, clock=rt.clock)


def _sweep_all(rt: Runtime, moment: str) -> None:
    """What the scheduler does at `moment`: the process timers, then the steps' alarms."""
    _sweep(rt, moment)
    deadlines.sweep(rt.db, clock=rt.clock)


def _claim(rt: Runtime, task_id: int, username: str) -> None:
    with rt.transaction() as session:
        principal = access.principal_for(session, username=username)
        work.claim(session, principal=principal, task_id=task_id, clock=rt.clock)


def _escalate(rt: Runtime, task_id: int, note: str, *, until: date) -> work.Escalation:
    with rt.transaction() as session:
        principal = access.principal_for(session, username="supervisor.hf")
        return work.escalate(
            session, principal=principal, task_id=task_id, note=note, clock=rt.clock, until=until
        )


def _notices(rt: Runtime, task_id: int) -> list[Notification]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(Notification)
                .where(Notification.task_id == task_id, Notification.kind != "assigned")
                .order_by(Notification.id)
            ).scalars()
        )


def _urge_kinds(rt: Runtime, task_id: int) -> list[str]:
    with rt.db.reading() as session:
        return list(
            session.execute(select(TaskUrge.kind).where(TaskUrge.task_id == task_id)).scalars()
        )


def _overdue(rt: Runtime) -> list[supervision.OverdueTask]:
    """The supervisor's overdue list, every row."""
    with rt.db.reading() as session:
        principal = access.principal_for(session, username="supervisor.hf")
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


def _summary(rt: Runtime) -> supervision.Summary:
    with rt.db.reading() as session:
        principal = access.principal_for(session, username="supervisor.hf")
        return supervision.summary(session, principal=principal, clock=rt.clock)


def _task_data(rt: Runtime, task: HumanTask) -> dict[str, Any]:
    """A waiting task's data, read from the stored state without changing it."""
    with rt.db.reading() as session:
        instance = session.get(Instance, task.instance_id)
        version = session.get(ProcessVersion, instance.process_version_id)
        run = engine.restore(
            versions.compiled_spec(version),
            instance.state,
            clock=rt.clock,
            functions=functions.bound(session, rt.clock),
        )
        return run.task_data(task.spiff_task_id)


def _reviews(w: World, case: CaseFile) -> list[CaseFile]:
    with w.rt.db.reading() as session:
        return [
            other
            for direction, link, other in cases.linked(session, case.id)
            if direction == "to" and link.kind == accountability.REVIEW_LINK
        ]


def _stored(rt: Runtime, case: CaseFile) -> tuple[Any, ...]:
    with rt.db.reading() as session:
        row = cases.get(session, case.id)
        counts = [
            session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (CaseFile, CaseLink, Decision, PromotionBan)
        ]
        version = session.get(Instance, row.instance_id).version
        return row.status, row.outcome, row.received_on, version, *counts


def _refused(
    w: World,
    case: CaseFile,
    element: str,
    form: dict[str, Any],
    user: str,
    *,
    rule: str,
    field: str,
) -> None:
    """Refused with a message naming the rule and the field; nothing stored, task still open."""
    before = _stored(w.rt, case)
    with pytest.raises(ValidationFailed) as refused:
        w.complete(case, element, form, user)
    assert rule in refused.value.message
    assert field in [e["field"] for e in refused.value.errors]
    assert _stored(w.rt, case) == before
    assert w.task(case, element).state == "open"


def _eligibility(rt: Runtime, cadre_id: int, on: str) -> cadres.Eligibility:
    with rt.db.reading() as session:
        return cadres.eligibility(session, cadre_id=cadre_id, on=date.fromisoformat(on))


def _cli(rt: Runtime, *args: str, subprocess_: bool = False) -> str:
    """`cadreflow ARGS` on the test's database: its entry point in this process, or the real
    console script (tests/support/cli.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADREFLOW_")}
    env.update(
        CADREFLOW_DATABASE_URL=rt.db.url, CADREFLOW_FORMS_DIR=str(FORMS), CLOCK_ADJUSTABLE="1"
    )
    done = cadreflow(*args, env=env, cwd=ROOT, subprocess_=subprocess_, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


# --- start and registration -----------------------------------------------------------------


def test_case_opens_only_with_known_source_facts_and_evidence(rt: Runtime) -> None:
    w = _world(rt)
    for data, field in (
        ({**FINDING, "source": "rumour"}, "source"),
        ({**FINDING, "facts": " "}, "facts"),
        ({k: v for k, v in FINDING.items() if k != "evidence"}, "evidence"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            w.open("accountability", data=data)
        assert "§6" in refused.value.message and refused.value.errors[0]["field"] == field
    with rt.db.reading() as session:
        assert cases.case_count(session) == 0
        assert session.execute(select(func.count()).select_from(Instance)).scalar_one() == 0
    case = w.open("accountability", data=FINDING)
    assert (w.case(case.id).source, w.task(case, "register").role) == ("audit", "discipline")


# --- investigation deadline -----------------------------------------------------------------


def test_overdue_investigation_stays_with_its_investigator_and_is_escalated(rt: Runtime) -> None:
    """§4: the investigation's time limit passing takes no work away. The investigator is
    reminded before it and told when it passes, the step is counted once as overdue, and a
    supervisor's 督办上报 sets a 督办期限 that is shown beside the original due date and
    itself goes overdue."""
    w = _world(rt)
    case = _registered(w)
    _no_tolerance(w, case)  # considered at once: only the investigation runs late
    investigate = w.task(case, "investigate")
    assert investigate.due_at == at("2026-04-15 00:00")  # 30 working days after 2026-03-02
    assert investigate.due_basis == "立案之日 2026-03-02 起30个工作日"
    _claim(rt, investigate.id, "discipline.hf")
    _sweep_all(rt, "2026-04-06 23:00")  # the day before the reminder day
    assert _notices(rt, investigate.id) == []
    _sweep_all(rt, "2026-04-07 09:00")  # 5 working days before 04-14 (清明 04-04..06 skipped)
    assert [(n.kind, n.username) for n in _notices(rt, investigate.id)] == [
        ("due_soon", "discipline.hf")
    ]
    assert [t.task_spec for t in w.tasks(case)] == ["investigate"]  # a notice, not a task
    _sweep_all(rt, "2026-04-15 09:00")
    still = w.task(case, "investigate")
    assert (still.id, still.state, still.assignee, still.due_at) == (
        investigate.id,
        "open",
        "discipline.hf",
        at("2026-04-15 00:00"),
    )
    assert [t.task_spec for t in w.tasks(case)] == ["investigate"]
    [told] = [n for n in _notices(rt, investigate.id) if n.kind == "overdue"]
    assert told.username == "discipline.hf" and told.title == f"已逾期：责任调查（{case.number}）"
    assert "逾期 1 个工作日" in told.body and "仍由你办理" in told.body
    [row] = _overdue(rt)  # counted once
    assert (row.task_id, row.escalation, row.assignee, row.workdays_overdue) == (
        investigate.id,
        False,
        "discipline.hf",
        1,
    )
    assert row.due_basis == "立案之日 2026-03-02 起30个工作日" and row.actions == (
        "urge",
        "escalate",
    )
    assert _summary(rt).total.overdue == 1
    with pytest.raises(ValidationFailed) as refused:
        _escalate(rt, investigate.id, "限期办结", until=date(2026, 4, 14))
    assert [e["field"] for e in refused.value.errors] == ["until"]
    assert _urge_kinds(rt, investigate.id) == []  # nothing stored
    done = _escalate(rt, investigate.id, "责令十日内办结", until=date(2026, 4, 24))
    assert done.supervision_due_at == at("2026-04-25 00:00")
    assert {"discipline.hf", "committee.hf"} <= set(done.notified)
    [row] = _overdue(rt)
    assert (row.task_id, row.due_at, row.due_basis) == (
        investigate.id,
        at("2026-04-15 00:00"),  # the original due date stays
        "立案之日 2026-03-02 起30个工作日",
    )
    assert (row.supervision_due_at, row.supervision_overdue, row.escalations) == (
        at("2026-04-25 00:00"),
        False,
        1,
    )
    _sweep_all(rt, "2026-04-24 23:00")
    assert [n for n in _notices(rt, investigate.id) if n.title.startswith("督办期限已过")] == []
    _sweep_all(rt, "2026-04-27 09:00")  # the 督办期限 has passed too
    [late] = [n for n in _notices(rt, investigate.id) if n.title.startswith("督办期限已过")]
    assert (late.username, late.kind) == ("discipline.hf", "overdue")
    assert "督办期限 2026-04-24 已过（原办理期限 2026-04-14）" in late.body
    [row] = _overdue(rt)
    assert (row.task_id, row.supervision_overdue, row.workdays_overdue) == (
        investigate.id,
        True,
        9,  # 04-15..04-17, 04-20..04-24, 04-27
    )
    assert w.task(case, "investigate").assignee == "discipline.hf"
    _investigated(w, case)
    _decide(w, case, "none", reason="经调查，未发现应当问责的情形")
    w.complete(case, "notify", {"received_on": "2026-04-27"}, "organization.hf")
    _sweep_all(rt, "2026-05-28 09:00")  # the appeal window has passed: closed
    assert (w.case(case.id).status, w.tasks(case)) == ("closed", [])
    with rt.db.reading() as session:
        assert session.get(Instance, case.instance_id).status == "completed"
        assert session.execute(select(func.count()).select_from(TaskAlarm)).scalar_one() == 0
    assert _overdue(rt) == []


def test_investigation_deadline_is_configuration(rt: Runtime) -> None:
    """The investigation's 30 working days are a default: an administrator's time-limit
    setting applies to investigations that become available afterwards."""
    w = _world(rt)
    with rt.db.transaction() as session:
        step_limits.put(
            session,
            process_key="accountability",
            element="investigate",
            amount=20,
            unit="workdays",
            reminder_workdays=3,
            actor="admin.hf",
            clock=rt.clock,
        )
    case = _registered(w)
    investigate = w.task(case, "investigate")
    assert investigate.due_at == at("2026-03-31 00:00")  # 20 working days after 2026-03-02
    assert investigate.due_basis == "立案之日 2026-03-02 起20个工作日"
    assert w.task(case, "consider_tolerance").due_at == investigate.due_at
    with rt.db.reading() as session:
        alarms = {
            a.kind: a.fire_at
            for a in session.execute(
                select(TaskAlarm).where(TaskAlarm.spiff_task_id == investigate.spiff_task_id)
            ).scalars()
        }
    # reminded 3 working days before 2026-03-30, as the day starts; overdue as it ends
    assert alarms == {"remind": at("2026-03-25 00:00"), "overdue": at("2026-03-31 00:00")}


# --- tolerance consideration (§11) ------------------------------------------------------------


def test_no_tolerance_circumstances_needs_a_reason(rt: Runtime) -> None:
    w = _world(rt)
    case = _registered(w)
    for form, rule in (
        ({"consideration": "none"}, "选择「考虑结果：不存在容错情形」时必填：§11"),
        ({"consideration": "none", "no_tolerance_reason": "  "}, "不能只有空白"),
    ):
        _refused(
            w,
            case,
            "consider_tolerance",
            form,
            "discipline.hf",
            rule=rule,
            field="no_tolerance_reason",
        )
    _no_tolerance(w, case)
    assert _reviews(w, case) == []


def test_tolerance_review_runs_concurrently_and_its_determination_flows_back(rt: Runtime) -> None:
    w = _world(rt, review=True)
    case = _registered(w)
    w.complete(case, "consider_tolerance", {"consideration": "review"}, "discipline.hf")
    [review] = _reviews(w, case)
    assert (review.kind, review.cadre_id, review.status) == (
        "tolerance_review",
        w.cadres["zhang"],
        "open",
    )
    start_data = _task_data(rt, w.task(review, "accept"))
    assert (start_data["origin"], start_data["accountability_case_id"], start_data["facts"]) == (
        "accountability",
        case.id,
        FINDING["facts"],
    )
    assert w.task(case, "investigate").state == "open"  # the investigation goes on meanwhile
    _investigated(w, case)
    assert w.tasks(case) == []  # the decision waits for the determination
    assert _deliver(rt, case, {"outcome": "mitigate", "case_number": review.number}) is True
    decide = w.task(case, "decide")
    assert decide.role == "committee"
    assert _task_data(rt, decide)["tolerance"] == {
        "outcome": "mitigate",
        "case_number": review.number,
    }
    _decide(w, case, "lighter", reason="符合容错情形，确需追究责任，从轻处理")
    assert (w.case(case.id).status, w.case(case.id).outcome) == ("decided", "lighter")


def test_lighter_handling_requires_mitigating_tolerance_determination(rt: Runtime) -> None:
    w = _world(rt, review=True)
    case = _ready_to_decide(w)
    _refused(
        w,
        case,
        "decide",
        {"outcome": "lighter", "reason": REASON, "decided_on": "2026-03-02"},
        "committee.hf",
        rule="§11",
        field="outcome",
    )
    rejected = _registered(w)
    _investigated(w, rejected)
    w.complete(rejected, "consider_tolerance", {"consideration": "review"}, "discipline.hf")
    _deliver(rt, rejected, {"outcome": "reject", "case_number": _reviews(w, rejected)[0].number})
    _refused(
        w,
        rejected,
        "decide",
        {"outcome": "lighter", "reason": REASON, "decided_on": "2026-03-02"},
        "committee.hf",
        rule="§11",
        field="outcome",
    )
    _decide(w, rejected, "admonishment")


def test_exempted_case_can_only_end_without_accountability(rt: Runtime) -> None:
    w = _world(rt, review=True)
    case = _registered(w)
    w.complete(case, "consider_tolerance", {"consideration": "review"}, "discipline.hf")
    _investigated(w, case)
    _deliver(rt, case, {"outcome": "exempt", "case_number": _reviews(w, case)[0].number})
    for outcome, adjustment in (
        ("adjustment", "transfer"),
        ("lighter", None),
        ("admonishment", None),
    ):
        form = {
            "outcome": outcome,
            "reason": REASON,
            "decided_on": "2026-03-02",
            **({"adjustment": adjustment} if adjustment else {}),
        }
        _refused(w, case, "decide", form, "committee.hf", rule="§11", field="outcome")
    _decide(w, case, "none", reason="经容错免责审查予以免责，不予问责")
    assert (w.case(case.id).status, w.case(case.id).outcome) == ("decided", "none")
    assert _eligibility(rt, w.cadres["zhang"], "2026-03-03").eligible


def test_exemption_application_while_case_open_opens_linked_review(rt: Runtime) -> None:
    w = _world(rt, review=True)
    case = _registered(w)

    def apply(applicant: str, reasons: str) -> CaseFile:
        with rt.transaction() as session:
            return accountability.apply_for_exemption(
                session,
                case_id=case.id,
                applicant=applicant,
                reasons=reasons,
                actor="unit.hf",
                clock=rt.clock,
            )

    with pytest.raises(ValidationFailed, match="§11") as refused:
        apply("neighbour", "先行先试")
    assert refused.value.errors[0]["field"] == "applicant"
    review = apply("unit", "属改革创新中先行先试出现的失误，已主动挽回损失")
    assert [r.id for r in _reviews(w, case)] == [review.id]
    start_data = _task_data(rt, w.task(review, "accept"))
    assert (
        start_data["origin"],
        start_data["applicant"],
        start_data["accountability_case_id"],
        start_data["facts"],
    ) == ("application", "unit", case.id, FINDING["facts"])
    _investigated(w, case)
    _no_tolerance(w, case)
    # The committee waits for the application's determination (§11) ...
    _refused(
        w,
        case,
        "decide",
        {"outcome": "admonishment", "reason": REASON, "decided_on": "2026-03-02"},
        "committee.hf",
        rule=review.number,
        field="outcome",
    )
    with rt.db.transaction() as session:  # ... which the review records when approved
        session.add(
            Decision(
                case_id=review.id,
                kind="tolerance",
                outcome="mitigate",
                reason="符合容错情形",
                decided_on=date(2026, 3, 2),
                decided_by="committee.hf",
                recorded_at=rt.clock.now(),
            )
        )
    _decide(w, case, "lighter", reason="容错认定从轻处理")
    with pytest.raises(ValidationFailed, match="§11 免责申请须在问责案件办理期间提出"):
        apply("cadre", "再次申请")
    assert len(_reviews(w, case)) == 1


# --- decision (§6, §9) ---------------------------------------------------------------------


def test_decision_without_reason_is_refused(rt: Runtime) -> None:
    w = _world(rt)
    case = _ready_to_decide(w)
    for form in (
        {"outcome": "adjustment", "adjustment": "transfer", "decided_on": "2026-03-02"},
        {
            "outcome": "adjustment",
            "adjustment": "transfer",
            "decided_on": "2026-03-02",
            "reason": " \n ",
        },
    ):
        _refused(
            w,
            case,
            "decide",
            form,
            "committee.hf",
            rule="「决定理由」请填写此项",
            field="reason",
        )
    _refused(
        w,
        case,
        "decide",
        {"outcome": "adjustment", "reason": REASON, "decided_on": "2026-03-02"},
        "committee.hf",
        rule="§6",
        field="adjustment",
    )


def _assert_ban(
    rt: Runtime, w: World, adjustment: str, ends_on: str, last_day_banned: str
) -> CaseFile:
    case = _ready_to_decide(w)
    assert _eligibility(rt, w.cadres["zhang"], "2026-03-02").eligible
    _decide(w, case, "adjustment", adjustment)
    with rt.db.reading() as session:
        [ban] = cadres.bans(session, cadre_id=w.cadres["zhang"])
        decision = session.execute(select(Decision).where(Decision.case_id == case.id)).scalar_one()
    assert (decision.kind, decision.outcome, decision.adjustment, decision.decided_by) == (
        "accountability",
        "adjustment",
        adjustment,
        "committee.hf",
    )
    assert (ban.starts_on.isoformat(), ban.ends_on.isoformat(), ban.decision_id) == (
        "2026-03-02",
        ends_on,
        decision.id,
    )
    banned = _eligibility(rt, w.cadres["zhang"], last_day_banned)
    assert (banned.eligible, banned.until, banned.case_number) == (False, ban.ends_on, case.number)
    assert _eligibility(rt, w.cadres["zhang"], ends_on).eligible
    assert (w.case(case.id).status, w.case(case.id).outcome) == ("decided", adjustment)
    with rt.db.reading() as session:
        assert "committee.hf" in cases.actors(session, case.id)  # the basis of recusal on appeal
    return case


def test_transfer_bans_promotion_for_one_year(rt: Runtime) -> None:
    w = _world(rt)
    case = _assert_ban(rt, w, "transfer", "2027-03-02", "2027-03-01")
    if rt.db.dialect == "sqlite":  # the organization department's query, as it runs it
        cadre = str(w.cadres["zhang"])
        assert _cli(rt, "cadre", "eligibility", cadre, "--on", "2027-03-01").strip() == (
            f"cadre {cadre} is not eligible until 2027-03-02 because of case {case.number}: "
            "调离岗位，自 2026-03-02 起不得提拔，至 2027-03-02"
        )
        assert "is eligible for promotion on 2027-03-02" in _cli(
            rt, "cadre", "eligibility", cadre, "--on", "2027-03-02"
        )


def test_non_leadership_post_bans_promotion_for_one_year(rt: Runtime) -> None:
    _assert_ban(rt, _world(rt), "non_leadership", "2027-03-02", "2027-03-01")


def test_dismissal_bans_promotion_for_one_year(rt: Runtime) -> None:
    _assert_ban(rt, _world(rt), "dismissal", "2027-03-02", "2027-03-01")


def test_demotion_bans_promotion_for_two_years(rt: Runtime) -> None:
    _assert_ban(rt, _world(rt), "demotion", "2028-03-02", "2028-03-01")


def test_ban_ends_and_cadre_is_eligible_again(rt: Runtime) -> None:
    w = _world(rt)
    case = _ready_to_decide(w)
    _decide(w, case, "adjustment", "dismissal")
    for moment, eligible in (("2027-03-01 23:59", False), ("2027-03-02 00:01", True)):
        set_clock(rt, moment)
        assert (
            _eligibility(rt, w.cadres["zhang"], rt.clock.today().isoformat()).eligible is eligible
        )


def test_admonishment_talk_for_low_assessment(rt: Runtime) -> None:
    w = _world(rt)
    case = _ready_to_decide(
        w, source="assessment", facts="年度综合考核排名靠后", evidence="2025年度综合考核结果"
    )
    _decide(w, case, "admonishment", reason="§9 综合考核排名靠后，进行约谈")
    with rt.db.reading() as session:
        decision = session.execute(select(Decision).where(Decision.case_id == case.id)).scalar_one()
        assert cadres.bans(session, cadre_id=w.cadres["zhang"]) == []
    assert (decision.outcome, decision.adjustment) == ("admonishment", None)
    assert (w.case(case.id).source, w.case(case.id).outcome) == ("assessment", "admonishment")
    w.complete(case, "notify", {"received_on": "2026-03-02"}, "organization.hf")
    assert w.tasks(case) == []  # no adjustment: no work to arrange
    _sweep(rt, "2026-04-03 09:00")
    assert w.case(case.id).status == "closed"


# --- service, appeal window, work arrangement ---------------------------------------------------


def test_receipt_before_decision_is_refused(rt: Runtime) -> None:
    w = _world(rt)
    case = _ready_to_decide(w)
    _decide(w, case, "adjustment", "transfer", decided_on="2026-03-02")
    _refused(
        w,
        case,
        "notify",
        {"received_on": "2026-03-01"},
        "organization.hf",
        rule="不得早于决定日期 2026-03-02",
        field="received_on",
    )
    _refused(
        w,
        case,
        "notify",
        {"received_on": "2026-03-03"},
        "organization.hf",
        rule="「收到决定日期」不能晚于今天（2026-03-02）",
        field="received_on",
    )
    w.complete(case, "notify", {"received_on": "2026-03-02"}, "organization.hf")
    assert w.case(case.id).received_on == date(2026, 3, 2)


def test_decision_becomes_final_when_appeal_window_passes(rt: Runtime) -> None:
    w = _world(rt, today="2026-01-20 09:00")
    case = _ready_to_decide(w)
    set_clock(rt, "2026-01-31 10:00")
    _decide(w, case, "adjustment", "transfer", decided_on="2026-01-30")
    w.complete(case, "notify", {"received_on": "2026-01-31"}, "organization.hf")
    with rt.db.reading() as session:
        [window] = session.execute(
            select(Timer).where(Timer.task_spec == "appeal_window")
        ).scalars()
    assert window.fire_at == at(
        "2026-03-01 00:00"
    )  # one calendar month: the window ends 2026-02-28
    _sweep(rt, "2026-02-28 23:00")
    assert w.case(case.id).status == "decided"  # executed already, not final yet
    _sweep(rt, "2026-03-01 00:30")
    assert w.case(case.id).status == "final"
    assert w.task(case, "arrange_work").state == "open"


def test_work_is_arranged_after_adjustment(rt: Runtime) -> None:
    w = _world(rt)
    case = _ready_to_decide(w)
    _decide(w, case, "adjustment", "non_leadership")
    w.complete(case, "notify", {"received_on": "2026-03-02"}, "organization.hf")
    arrange = w.task(case, "arrange_work")
    assert arrange.role == "organization"  # right away: the decision is executed during the window
    _refused(
        w,
        case,
        "arrange_work",
        {"arrangement": "   ", "arranged_on": "2026-03-02"},
        "organization.hf",
        rule="「工作安排情况」请填写此项（不能只有空白）",
        field="arrangement",
    )
    w.complete(
        case,
        "arrange_work",
        {"arrangement": "改任市某局四级调研员", "arranged_on": "2026-03-02"},
        "organization.hf",
    )
    assert w.case(case.id).status == "decided"
    _sweep(rt, "2026-04-03 09:00")
    closed = w.case(case.id)
    assert (closed.status, closed.closed_at is not None) == ("closed", True)
    with rt.db.reading() as session:
        assert session.get(Instance, case.instance_id).status == "completed"


# --- the command line ---------------------------------------------------------------------


@only_sqlite
def test_full_path_through_the_cli(rt: Runtime) -> None:
    w = _world(rt)
    cadre = str(w.cadres["li"])
    opened = _cli(
        rt,
        "case",
        "open",
        "accountability",
        "--cadre",
        cadre,
        "--user",
        "discipline.hf",
        "--data",
        json.dumps(
            {"source": "petition", "facts": "群众举报违规审批", "evidence": "举报材料及核查记录"},
            ensure_ascii=False,
        ),
        subprocess_=True,
    )
    number = re.search(r"opened (WZ-2026-\d{6})", opened).group(1)
    case = w.case(int(re.search(r"\(case (\d+),", opened).group(1)))
    listing = _cli(rt, "tasks", "--role", "discipline", "--org", "ah-hf-fd")
    register_id = re.search(r"^\s*(\d+) .*立案 \[register\]$", listing, re.MULTILINE).group(1)

    def complete(element: str, user: str, form: dict[str, Any], task_id: str | None = None) -> None:
        task_id = task_id or str(w.task(case, element).id)
        _cli(
            rt, "complete", task_id, "--user", user, "--data", json.dumps(form, ensure_ascii=False)
        )

    complete("register", "discipline.hf", {"registered_on": "2026-03-02"}, register_id)
    shown = _cli(rt, "case", "show", number)
    assert "责任调查 [discipline] due 2026-04-15 00:00 (立案之日 2026-03-02 起30个工作日)" in shown
    assert "同步考虑容错情形 [discipline]" in shown
    complete(
        "investigate", "discipline.hf", {"findings": "违规审批属实", "responsibility": "direct"}
    )
    complete(
        "consider_tolerance",
        "discipline.hf",
        {"consideration": "none", "no_tolerance_reason": "为谋取私利违规审批"},
    )
    complete(
        "decide",
        "committee.hf",
        {
            "outcome": "adjustment",
            "adjustment": "demotion",
            "reason": REASON,
            "decided_on": "2026-03-02",
        },
    )
    complete("notify", "organization.hf", {"received_on": "2026-03-02"})
    complete(
        "arrange_work",
        "organization.hf",
        {"arrangement": "降职安排至县某局", "arranged_on": "2026-03-02"},
    )
    _cli(rt, "clock", "set", "2026-04-03T09:00:00")
    assert "fired 1 timer(s)" in _cli(rt, "scheduler", "--once")
    assert f"{number}  问责  李四  ah-hf-fd  status=closed  outcome=demotion" in _cli(
        rt, "case", "show", number
    )
    assert _eligibility(rt, int(cadre), "2028-03-01").until == date(2028, 3, 2)


# --- with the real tolerance review (DOMAIN.md §2.2) ------------------------------------------


def _determined_by_review(w: World, review: CaseFile, opinion: str, **poles: str) -> None:
    """The review's own steps up to the committee's approval (DOMAIN.md §2.2 steps 2–7)."""
    from workflows.cases import tolerance

    w.complete(
        review,
        "accept",
        {"acceptance": "accept", "verification": "skip", "skip_reason": "事实已由责任调查查清"},
        "discipline2.hf",
    )
    analysis: dict[str, Any] = {}
    for key, *_ in tolerance.ELEMENTS:
        analysis[key], analysis[f"{key}_reason"] = (
            poles.get(key, "favourable"),
            "研判依据见调查材料",
        )
    for key, _ in tolerance.DISTINCTIONS:
        analysis[key], analysis[f"{key}_note"] = True, "属于可容的一端"
    w.complete(review, "analyse", analysis, "discipline2.hf")
    w.complete(
        review,
        "determine",
        {"opinion": opinion, "opinion_reason": "综合六个要件作出认定"},
        "discipline2.hf",
    )
    w.complete(
        review,
        "approve",
        {
            "approval": "approve",
            "rectification_requirements": "完善审批制度",
            "rectification_deadline": "2026-06-30",
        },
        "committee.hf",
    )


def test_mitigation_by_the_tolerance_review_allows_lighter_handling(rt: Runtime) -> None:
    w = make_world(rt, processes=["accountability", "tolerance_review", "rectification"])
    case = _registered(w)
    w.complete(case, "consider_tolerance", {"consideration": "review"}, "discipline.hf")
    [review] = _reviews(w, case)
    _determined_by_review(w, review, "mitigate", consequences="unfavourable")
    _investigated(w, case)
    assert _task_data(rt, w.task(case, "decide"))["tolerance"] == {
        "outcome": "mitigate",
        "case_number": review.number,
    }
    _decide(w, case, "lighter", reason="符合容错情形，确需追究责任，从轻处理")
    assert w.case(case.id).outcome == "lighter"


def test_exemption_application_determined_by_the_review_ends_without_accountability(
    rt: Runtime,
) -> None:
    w = make_world(rt, processes=["accountability", "tolerance_review", "rectification"])
    case = _registered(w)
    with rt.transaction() as session:
        review = accountability.apply_for_exemption(
            session,
            case_id=case.id,
            applicant="cadre",
            reasons="属先行先试中的失误，已主动补救",
            actor="zhang",
            clock=rt.clock,
        )
    _determined_by_review(w, review, "exempt")
    _investigated(w, case)
    _no_tolerance(w, case)
    _refused(
        w,
        case,
        "decide",
        {
            "outcome": "adjustment",
            "adjustment": "transfer",
            "reason": REASON,
            "decided_on": "2026-03-02",
        },
        "committee.hf",
        rule=review.number,
        field="outcome",
    )
    _decide(w, case, "none", reason="经容错免责审查予以免责，不予问责")
    assert w.case(case.id).outcome == "none"


def test_cadre_record_shows_the_ban_and_its_end(rt: Runtime) -> None:
    """§6: the cadre record shows the ban and when it ends (`cadreflow cadre show`)."""
    w = _world(rt)
    _decide(w, _ready_to_decide(w), "adjustment", "demotion")
    shown = _cli(rt, "cadre", "show", str(w.cadres["zhang"]))
    assert "promotion ban (降职): 2026-03-02 – 2028-03-02  active" in shown
