"""退回 and 撤回 (DOMAIN.md §6) on the real processes, both backends: every step its own
transaction through the locked path, so each scenario runs with save/restore between steps."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from tests.support.world import FINDING, INVESTIGATED, NO_TOLERANCE, World, make_world
from workflows import access
from workflows.cadres.models import PromotionBan
from workflows.cases.models import CaseFile, Decision
from workflows.engine.models import HumanTask, RecordSupersession
from workflows.errors import Conflict, Forbidden, ValidationFailed
from workflows.official.models import OfficialDocument
from workflows.runtime import Runtime
from workflows.tasks import going_back
from workflows.tasks import service as work
from workflows.tasks.models import GoingBack, TaskDraft


@pytest.fixture
def world(rt: Runtime) -> World:
    return make_world(rt)


def _decision(world: World) -> dict[str, Any]:
    return {
        "outcome": "adjustment",
        "adjustment": "demotion",
        "decided_on": world.today().isoformat(),
        "reason": "对违规拨付负主要领导责任",
    }


def _at_notify(world: World) -> CaseFile:
    case = world.awaiting_decision()
    world.complete(case, "decide", _decision(world), "committee.hf")
    return world.case(case.id)


def _send_back(
    world: World, user: str, task_id: int, to_step: str, reason: str = "事实不清，需补充调查"
) -> going_back.WentBack:
    with world.rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        return going_back.send_back(
            session,
            principal=principal,
            task_id=task_id,
            to_step=to_step,
            reason=reason,
            clock=world.rt.clock,
        )


def _withdraw(
    world: World, user: str, task_id: int, reason: str = "调查结论日期填错"
) -> going_back.WentBack:
    with world.rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        return going_back.withdraw(
            session, principal=principal, task_id=task_id, reason=reason, clock=world.rt.clock
        )


def _targets(world: World, user: str, task_id: int) -> list[going_back.Target]:
    with world.rt.db.reading() as session:
        principal = access.principal_for(session, username=user)
        return going_back.return_targets(
            session, principal=principal, task_id=task_id, clock=world.rt.clock
        )


def _all(world: World, case: CaseFile) -> list[HumanTask]:
    with world.rt.db.reading() as session:
        return list(
            session.execute(
                select(HumanTask)
                .where(HumanTask.instance_id == case.instance_id)
                .order_by(HumanTask.id)
            ).scalars()
        )


def _completed(world: World, case: CaseFile, element: str) -> HumanTask:
    return [t for t in _all(world, case) if t.task_spec == element and t.state == "completed"][-1]


def _open(world: World, case: CaseFile) -> list[tuple[str, str | None]]:
    return [(t.task_spec, t.assignee) for t in world.tasks(case)]


def test_return_from_notify_to_decide_supersedes_the_decision_and_its_ban(world: World) -> None:
    case = _at_notify(world)
    assert (case.status, case.outcome) == ("decided", "demotion")
    decided = _completed(world, case, "decide")
    notify = world.task(case, "notify")
    targets = _targets(world, "organization.hf", notify.id)
    assert [t.step for t in targets] == [
        "decide",
        "investigate",
        "consider_tolerance",
        "register",
    ] or {t.step for t in targets} == {"decide", "investigate", "consider_tolerance", "register"}
    assert targets[0].step == "decide" and targets[0].completed_by == "committee.hf"
    assert all(t.refusal is None for t in targets)

    went = _send_back(world, "organization.hf", notify.id, "decide", "处分依据需补充")

    assert _open(world, case) == [("decide", "committee.hf")]
    reopened = world.task(case, "decide")
    assert reopened.id == went.reopened.id != decided.id
    assert reopened.due_at is not None and reopened.created_at > decided.completed_at
    assert went.cancelled == [notify.id]
    with world.rt.db.reading() as session:
        assert session.get(HumanTask, notify.id).state == "cancelled"
        decision = session.execute(select(Decision)).scalar_one()
        ban = session.execute(select(PromotionBan)).scalar_one()
        assert (decision.effective, ban.status) == ("superseded", "superseded")
        pointers = session.execute(
            select(
                RecordSupersession.record_table,
                RecordSupersession.record_id,
                RecordSupersession.going_back_id,
            )
        ).all()
        issued = session.execute(select(OfficialDocument.id)).scalars().all()
        assert len(issued) == 2  # the 问责决定书 and its 送达回证 go with the decision
        assert sorted(pointers) == sorted(
            [
                ("decision", decision.id, went.going_back.id),
                ("promotion_ban", ban.id, went.going_back.id),
                *(("official_document", i, went.going_back.id) for i in issued),
            ]
        )
        restored = session.get(CaseFile, case.id)
        assert (restored.status, restored.outcome) == ("open", None)
        draft = session.get(TaskDraft, reopened.id)
        assert draft is not None and json.loads(draft.data)["reason"] == "对违规拨付负主要领导责任"
        back = session.execute(select(GoingBack)).scalar_one()
        assert (back.kind, back.reason, back.from_task_id, back.target_task_id) == (
            "return",
            "处分依据需补充",
            notify.id,
            decided.id,
        )
    with world.rt.db.reading() as session:
        shown = going_back.reopened_by(session, reopened.id)
    assert shown is not None and (shown.label, shown.reason, shown.superseded) == (
        "退回",
        "处分依据需补充",
        4,  # the decision, its ban, the 问责决定书 and its 送达回证
    )

    world.complete(case, "decide", {**_decision(world), "adjustment": "dismissal"}, "committee.hf")
    with world.rt.db.reading() as session:
        decisions = session.execute(
            select(Decision.adjustment, Decision.effective).order_by(Decision.id)
        ).all()
        assert decisions == [("demotion", "superseded"), ("dismissal", "effective")]
        assert session.get(CaseFile, case.id).outcome == "dismissal"
    assert _open(world, case) == [("notify", None)]


def test_return_to_a_branch_that_joined_waits_for_it_at_the_join(world: World) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    world.complete(case, "consider_tolerance", NO_TOLERANCE, "discipline.hf")
    world.complete(case, "investigate", INVESTIGATED, "discipline.hf")
    decide = world.task(case, "decide")
    assert {t.step for t in _targets(world, "committee.hf", decide.id)} == {
        "investigate",
        "consider_tolerance",
        "register",
    }
    _send_back(world, "committee.hf", decide.id, "investigate", "补充调查：资金流向未查清")
    assert _open(world, case) == [("investigate", "discipline.hf")]  # decide waits at the join
    world.complete(case, "investigate", INVESTIGATED, "discipline.hf")
    assert _open(world, case) == [("decide", None)]

    _send_back(world, "committee.hf", world.task(case, "decide").id, "consider_tolerance")
    assert _open(world, case) == [("consider_tolerance", "discipline.hf")]
    world.complete(case, "consider_tolerance", NO_TOLERANCE, "discipline.hf")
    assert _open(world, case) == [("decide", None)]


def test_return_is_refused_without_reason_off_the_path_or_by_whoever_may_not_complete(
    world: World,
) -> None:
    case = _at_notify(world)
    notify = world.task(case, "notify")
    with pytest.raises(ValidationFailed) as no_reason:
        _send_back(world, "organization.hf", notify.id, "decide", "  ")
    assert no_reason.value.errors[0]["field"] == "reason"
    with pytest.raises(ValidationFailed) as later:
        _send_back(world, "organization.hf", notify.id, "arrange_work")
    assert later.value.errors[0]["field"] == "to_step"
    assert "问责决定（decide）" in later.value.errors[0]["message"]
    with pytest.raises(ValidationFailed) as itself:
        _send_back(world, "organization.hf", notify.id, "notify")
    assert itself.value.errors[0]["field"] == "to_step"
    with pytest.raises(Forbidden):
        _send_back(world, "committee.hf", notify.id, "decide")
    with pytest.raises(ValidationFailed) as no_step:
        _send_back(world, "organization.hf", notify.id, "")
    assert no_step.value.errors[0]["field"] == "to_step"
    assert _open(world, case) == [("notify", None)]
    with world.rt.db.reading() as session:
        assert session.execute(select(GoingBack)).first() is None
        assert session.execute(select(Decision.effective)).scalar_one() == "effective"


def test_no_return_across_service_of_the_decision(world: World) -> None:
    case = world.decided_accountability()
    arrange = world.task(case, "arrange_work")
    targets = {t.step: t.refusal for t in _targets(world, "organization.hf", arrange.id)}
    assert "送达" in (targets["notify"] or "") and "申诉" in (targets["decide"] or "")
    with pytest.raises(Conflict, match="送达"):
        _send_back(world, "organization.hf", arrange.id, "decide")
    with pytest.raises(Conflict, match="送达"):
        _withdraw(world, "organization.hf", _completed(world, case, "notify").id)
    assert _open(world, case) == [("arrange_work", None)]


def test_no_return_across_a_tolerance_review_it_started(world: World) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    world.complete(case, "investigate", INVESTIGATED, "discipline.hf")
    world.complete(case, "consider_tolerance", {"consideration": "review"}, "discipline.hf")
    considered = _completed(world, case, "consider_tolerance")
    with pytest.raises(Conflict, match="另一案件"):
        _withdraw(world, "discipline.hf", considered.id)
    with world.rt.db.reading() as session:
        assert session.execute(select(GoingBack)).first() is None


def test_withdraw_reopens_the_step_for_its_author_until_the_next_is_taken_up(world: World) -> None:
    case = world.awaiting_decision()
    considered = _completed(world, case, "consider_tolerance")
    with pytest.raises(Forbidden, match="discipline.hf"):
        _withdraw(world, "discipline2.hf", considered.id)
    with pytest.raises(ValidationFailed):
        _withdraw(world, "discipline.hf", considered.id, "")
    _withdraw(world, "discipline.hf", considered.id, "理由写错了")
    assert _open(world, case) == [("consider_tolerance", "discipline.hf")]
    with world.rt.db.reading() as session:
        draft = session.get(TaskDraft, world.task(case, "consider_tolerance").id)
        assert json.loads(draft.data) == NO_TOLERANCE
    with pytest.raises(Conflict):
        _withdraw(world, "discipline.hf", considered.id)  # that completion was withdrawn already
    world.complete(case, "consider_tolerance", NO_TOLERANCE, "discipline.hf")

    decide = world.task(case, "decide")
    with world.rt.transaction() as session:
        work.claim(
            session,
            principal=access.principal_for(session, username="committee.hf"),
            task_id=decide.id,
            clock=world.rt.clock,
        )
    with pytest.raises(Conflict, match="认领"):
        _withdraw(world, "discipline.hf", _completed(world, case, "consider_tolerance").id)
    world.complete(case, "decide", _decision(world), "committee.hf")
    with pytest.raises(Conflict, match="已经办理"):
        _withdraw(world, "discipline.hf", _completed(world, case, "investigate").id)
    with pytest.raises(Conflict, match="尚未办结"):
        _withdraw(world, "organization.hf", world.task(case, "notify").id)


def test_withdraw_is_refused_once_the_next_step_has_a_draft(world: World) -> None:
    from workflows.tasks import drafts

    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    with world.rt.transaction() as session:
        drafts.save_draft(
            session,
            principal=access.principal_for(session, username="discipline.hf"),
            task_id=world.task(case, "investigate").id,
            data={"findings": "初步"},
            clock=world.rt.clock,
        )
    with pytest.raises(Conflict, match="草稿"):
        _withdraw(world, "discipline.hf", _completed(world, case, "register").id)


def test_a_return_and_a_completion_racing_exactly_one_wins(world: World) -> None:
    import threading

    from workflows.engine import instances
    from workflows.errors import DomainError

    case = _at_notify(world)
    notify = world.task(case, "notify")
    served = {"received_on": world.today().isoformat(), "delivery": "in_person"}
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def send_back() -> None:
        barrier.wait()
        try:
            _send_back(world, "organization.hf", notify.id, "decide")
            outcomes["return"] = "won"
        except DomainError as err:
            outcomes["return"] = f"lost: {err!r}"
        except Exception as err:  # noqa: BLE001 - shown by the assertion below
            outcomes["return"] = f"error: {err!r}"

    def complete() -> None:
        barrier.wait()
        try:
            with world.rt.transaction() as session:
                instances.complete_task(
                    session,
                    task_id=notify.id,
                    data=served,
                    actor="organization.hf",
                    clock=world.rt.clock,
                )
            outcomes["complete"] = "won"
        except DomainError as err:
            outcomes["complete"] = f"lost: {err!r}"
        except Exception as err:  # noqa: BLE001 - shown by the assertion below
            outcomes["complete"] = f"error: {err!r}"

    threads = [threading.Thread(target=send_back), threading.Thread(target=complete)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(v == "won" for v in outcomes.values()) == [False, True], outcomes
    assert not any(v.startswith("error") for v in outcomes.values()), outcomes
    with world.rt.db.reading() as session:
        backs = len(session.execute(select(GoingBack)).all())
        state = session.get(HumanTask, notify.id).state
    assert (backs, state) in ((1, "cancelled"), (0, "completed")), outcomes


# --- the other processes -------------------------------------------------------------------


def test_tolerance_review_returned_to_the_analysis_supersedes_it_and_approval_rejects_exempt(
    rt: Runtime,
) -> None:
    from tests.domain.cases import test_tolerance as t
    from workflows.cases import tolerance

    w = t.world(rt)
    case = t.determined(w, "reject")
    approve = w.task(case, "approve")
    assert [x.step for x in _targets(w, "committee.hf", approve.id)] == [
        "determine",
        "analyse",
        "accept",
    ]
    went = _send_back(w, "committee.hf", approve.id, "analyse", "要件“主观动机”分析不充分")
    assert _open(w, case) == [("analyse", "discipline.hf")]
    assert [table for table, _ in went.superseded] == ["six_element_analysis"]
    with w.rt.db.reading() as session:
        assert tolerance.latest_analysis(session, case.id) is None  # superseded, still stored
        assert session.execute(select(RecordSupersession.record_table)).scalars().all() == [
            "six_element_analysis"
        ]
    t.analyse(w, case)
    with w.rt.db.reading() as session:
        assert tolerance.latest_analysis(session, case.id) is not None
    assert _open(w, case) == [("determine", None)]
    # withdrawn by the analyst while nobody took up the determination
    _withdraw(w, "discipline.hf", _completed(w, case, "analyse").id, "补充材料")
    assert _open(w, case) == [("analyse", "discipline.hf")]


def test_rectification_return_supersedes_the_verification_round_its_requirement_and_notice(
    rt: Runtime,
) -> None:
    from tests.domain.cases import test_rectification as r
    from workflows.cases import rectification
    from workflows.cases.models import VerificationRound

    w = r._world(rt)
    case = r._reported(w)
    r._verify(w, case, "returned", note="资金未全部追回", new_deadline="2026-07-31")
    with w.rt.db.reading() as session:
        assert rectification.latest_requirement(session, case.id).deadline.isoformat() == (
            "2026-07-31"
        )
    report = w.task(case, "report")
    assert "verify_org" in {x.step for x in _targets(w, "unit.hf", report.id)}
    went = _send_back(w, "unit.hf", report.id, "verify_org", "验收时未看到补充材料，请重新验收")
    assert sorted(table for table, _ in went.superseded) == [
        "official_document",  # the 责令整改通知书 stating the new deadline
        "rectification_requirement",
        "verification_round",
    ]
    assert _open(w, case) == [("verify_org", "organization.hf")]
    with w.rt.db.reading() as session:
        assert rectification.latest_requirement(session, case.id).deadline.isoformat() == (
            r.DEADLINE
        )
        assert len(session.execute(select(VerificationRound)).all()) == 1  # kept
    r._verify(w, case, "accepted")
    with w.rt.db.reading() as session:
        rounds = session.execute(
            select(VerificationRound.round, VerificationRound.result).order_by(VerificationRound.id)
        ).all()
    assert rounds == [(1, "returned"), (1, "accepted")]  # the superseded round does not count


def test_appeal_return_to_acceptance_and_no_return_after_its_service(rt: Runtime) -> None:
    from tests.domain.cases import test_appeal as a

    w = a._world(rt)
    _original, case = a._appealed(w)
    review = w.task(case, "review")
    assert [x.step for x in _targets(w, a.REVIEWER, review.id)] == ["accept"]
    _send_back(w, a.REVIEWER, review.id, "accept", "复核人与原案经办人同一科室，请另行指定")
    # organization.hf served the original decision: recused from its appeal (§1), so the
    # acceptance goes back to the role's queue, not to them
    assert _open(w, case) == [("accept", None)]
    a._accept(w, case)
    a._review(w, case, "uphold")
    a._notify(w, case)
    assert all(x.refusal for x in _targets_of_any(w, case))


def _targets_of_any(w: World, case: CaseFile) -> list[going_back.Target]:
    found = []
    for task in w.tasks(case):
        with w.rt.db.reading() as session:
            for user in ("organization.hf", "discipline.hf", "discipline2.hf", "committee.hf"):
                principal = access.principal_for(session, username=user)
                found += going_back.return_targets(
                    session, principal=principal, task_id=task.id, clock=w.rt.clock
                )
    return found


def test_clarification_withdraw_and_return(world: World) -> None:
    from tests.domain.cases import test_clarification as c

    case = c._open(world)
    world.complete(case, "verify", c.UNTRUE, "discipline.hf")
    verified = _completed(world, case, "verify")
    clarify = world.task(case, "clarify")
    assert [x.step for x in _targets(world, "organization.hf", clarify.id)] == ["verify"]
    _withdraw(world, "discipline.hf", verified.id, "核实日期填错")
    assert _open(world, case) == [("verify", "discipline.hf")]
    world.complete(case, "verify", c.UNTRUE, "discipline.hf")
    clarify = world.task(case, "clarify")
    _send_back(world, "organization.hf", clarify.id, "verify", "核实材料不全")
    assert _open(world, case) == [("verify", "discipline.hf")]


def test_a_return_withdraws_the_open_request_for_opinions_on_the_cancelled_step(
    world: World,
) -> None:
    from workflows.tasks import consultations
    from workflows.tasks.models import Consultation

    case = world.awaiting_decision()
    decide = world.task(case, "decide")
    with world.rt.transaction() as session:
        consultations.ask(
            session,
            principal=access.principal_for(session, username="committee.hf"),
            task_id=decide.id,
            users=["discipline2.hf"],
            question="是否需要补充调查？",
            clock=world.rt.clock,
        )
    # a step that followed is being consulted on: the investigator may not withdraw past it
    with pytest.raises(Conflict, match="征求意见"):
        _withdraw(world, "discipline.hf", _completed(world, case, "investigate").id)
    _send_back(world, "committee.hf", decide.id, "investigate")
    with world.rt.db.reading() as session:
        assert session.execute(select(Consultation.state)).scalar_one() == "withdrawn"


def test_a_completed_step_undone_by_an_earlier_return_cannot_be_withdrawn(world: World) -> None:
    case = _at_notify(world)
    decided = _completed(world, case, "decide")
    _send_back(world, "organization.hf", world.task(case, "notify").id, "register", "立案材料不全")
    with world.rt.db.reading() as session:
        principal = access.principal_for(session, username="committee.hf")
        refusal = going_back.withdraw_refusal(
            session, principal=principal, task_id=decided.id, clock=world.rt.clock
        )
    assert refusal is not None and "已被退回或撤回" in refusal
    with pytest.raises(Conflict, match="已被退回或撤回"):
        _withdraw(world, "committee.hf", decided.id)
