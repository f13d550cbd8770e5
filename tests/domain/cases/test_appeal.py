"""Appeal 申诉 (DOMAIN.md §2.3; source §11; 问责条例 art. 20): one test per rule of
`workflows.cases.appeal.file_appeal` and bpmn/appeal.bpmn, each on SQLite and PostgreSQL.

The appealed decision comes from the real accountability process (bpmn/accountability.bpmn),
run up to the cadre's receipt of the decision. Every step is its own transaction through
`instances.advance`, which restores the instance from its stored state and stores it again:
every scenario here runs with save/restore between every step. The review's time limit is
reached by moving the clock and sweeping the timers and the steps' alarms, as the scheduler
does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import at, set_clock
from tests.support.world import World, make_world
from workflows import access
from workflows.cadres import service as cadres
from workflows.cases import appeal
from workflows.cases import service as cases
from workflows.cases.models import Appeal, CaseFile, Decision
from workflows.engine import timers
from workflows.engine.models import Instance
from workflows.errors import ValidationFailed
from workflows.org.models import User
from workflows.runtime import Runtime
from workflows.tasks import deadlines
from workflows.tasks import service as work
from workflows.tasks.models import Notification

GROUNDS = "降职处理过重：资金拨付经集体研究决定，本人已主动追回损失"
REVIEWER = "discipline2.hf"  # took no part in the original case
REASON = "经复核，原决定认定事实清楚，但处理偏重"


def _world(rt: Runtime, today: str = "2026-03-02 09:00") -> World:
    return make_world(rt, today=today, processes=["accountability", "appeal"])


def _decided(w: World, adjustment: str = "demotion") -> CaseFile:
    return w.decided_accountability(adjustment)


def _file(
    w: World, original: CaseFile, filed_on: str | None = None, grounds: str = GROUNDS
) -> CaseFile:
    with w.rt.transaction() as session:
        return appeal.file_appeal(
            session,
            original_case_id=original.id,
            grounds=grounds,
            filed_on=filed_on or w.today().isoformat(),
            actor="zhang",
            clock=w.rt.clock,
        )


def _accept(w: World, case: CaseFile, reviewer: str = REVIEWER) -> None:
    w.complete(
        case,
        "accept",
        {"reviewer": reviewer, "accepted_on": w.today().isoformat()},
        "organization.hf",
    )


def _review(
    w: World,
    case: CaseFile,
    outcome: str,
    user: str = REVIEWER,
    element: str = "review",
    **extra: Any,
) -> None:
    w.complete(case, element, {"outcome": outcome, "reason": REASON, **extra}, user)


def _notify(w: World, case: CaseFile) -> None:
    today = w.today().isoformat()
    w.complete(
        case,
        "notify",
        {"notified_on": today, "unit_notified_on": today, "delivery": "in_person"},
        "organization.hf",
    )


def _appealed(w: World, adjustment: str = "demotion") -> tuple[CaseFile, CaseFile]:
    """(original, appeal): decided on 2026-03-02, appealed on 2026-03-10 and accepted."""
    original = _decided(w, adjustment)
    set_clock(w.rt, "2026-03-10 09:00")
    case = _file(w, original)
    _accept(w, case)
    return original, case


def _sweep(rt: Runtime, moment: str) -> None:
    """What the scheduler does at `moment`: the process timers, then the steps' alarms."""
    set_clock(rt, moment)
    timers.sweep(rt.db, clock=rt.clock)
    deadlines.sweep(rt.db, clock=rt.clock)


def _overdue_notices(rt: Runtime, task_id: int) -> list[Notification]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(Notification)
                .where(Notification.task_id == task_id, Notification.kind == "overdue")
                .order_by(Notification.id)
            ).scalars()
        )


def _eligibility(w: World, on: str) -> cadres.Eligibility:
    with w.rt.db.reading() as session:
        return cadres.eligibility(session, cadre_id=w.cadres["zhang"], on=date.fromisoformat(on))


def _bans(w: World) -> list[tuple[str, str, str, str, int | None]]:
    with w.rt.db.reading() as session:
        return [
            (
                b.adjustment,
                b.starts_on.isoformat(),
                b.ends_on.isoformat(),
                b.status,
                b.changed_by_case_id,
            )
            for b in cadres.bans(session, cadre_id=w.cadres["zhang"])
        ]


def _decisions(w: World, case: CaseFile) -> list[tuple[str, str, str | None, str, int | None]]:
    with w.rt.db.reading() as session:
        rows = session.execute(
            select(Decision).where(Decision.case_id == case.id).order_by(Decision.id)
        ).scalars()
        return [(d.kind, d.outcome, d.adjustment, d.effective, d.corrects_id) for d in rows]


def _count(rt: Runtime, model: type) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _reviewer(w: World, case: CaseFile) -> str | None:
    with w.rt.db.reading() as session:
        return session.execute(
            select(Appeal.reviewer).where(Appeal.case_id == case.id)
        ).scalar_one()


def _name(w: World, username: str) -> str:
    """A user's 姓名, as refusals name people."""
    with w.rt.db.reading() as session:
        return str(
            session.execute(select(User.display_name).where(User.username == username)).scalar_one()
        )


# --- filing -----------------------------------------------------------------------------------


def test_appeal_within_one_month_of_receipt_is_accepted(rt: Runtime) -> None:
    w = _world(rt)
    original = _decided(w)
    set_clock(rt, "2026-04-02 16:00")  # received 2026-03-02: the window's last day
    case = _file(w, original)
    assert (case.kind, case.status, case.cadre_id) == ("appeal", "open", w.cadres["zhang"])
    with rt.db.reading() as session:
        row = session.execute(select(Appeal)).scalar_one()
        assert (row.filed_on.isoformat(), row.window_ends_on.isoformat(), row.grounds) == (
            "2026-04-02",
            "2026-04-02",
            GROUNDS,
        )
    assert [(t.task_spec, t.role) for t in w.tasks(case)] == [("accept", "organization")]
    # 申诉期间不停止执行: the original case runs on and its ban holds.
    with rt.db.reading() as session:
        assert session.get(Instance, original.instance_id).status == "running"
    assert not _eligibility(w, "2026-04-02").eligible


def test_late_appeal_is_refused(rt: Runtime) -> None:
    w = _world(rt)
    original = _decided(w)
    set_clock(rt, "2026-04-03 09:00")
    before = _count(rt, CaseFile)
    with pytest.raises(
        ValidationFailed, match="§11 申诉须在收到决定之日起1个月内提出：申诉期已于 2026-04-02 届满"
    ) as refused:
        _file(w, original)
    assert refused.value.errors[0]["field"] == "filed_on"
    assert (_count(rt, CaseFile), _count(rt, Appeal)) == (before, 0)


def test_appeal_window_counts_calendar_months(rt: Runtime) -> None:
    w = _world(rt, today="2026-01-31 09:00")
    original = _decided(w)  # received 2026-01-31: the window ends on February's last day
    set_clock(rt, "2026-03-01 09:00")
    with pytest.raises(ValidationFailed, match="申诉期已于 2026-02-28 届满"):
        _file(w, original, filed_on="2026-03-01")
    case = _file(w, original, filed_on="2026-02-28")  # a written appeal dated within the window
    with rt.db.reading() as session:
        assert session.execute(select(Appeal.window_ends_on)).scalar_one() == date(2026, 2, 28)
    assert case.kind == "appeal"


def test_appeal_needs_grounds_and_a_received_decision(rt: Runtime) -> None:
    w = _world(rt)
    undecided = w.open(
        "accountability", data={"source": "audit", "facts": "审计发现问题", "evidence": "审计报告"}
    )
    with pytest.raises(ValidationFailed, match="尚无生效的决定"):
        _file(w, undecided)
    original = _decided(w)
    with pytest.raises(ValidationFailed, match="§11 申诉须写明理由") as refused:
        _file(w, original, grounds="  ")
    assert refused.value.errors[0]["field"] == "grounds"
    assert _count(rt, Appeal) == 0


def test_second_appeal_against_the_same_case_is_refused(rt: Runtime) -> None:
    w = _world(rt)
    original, first = _appealed(w)
    with pytest.raises(ValidationFailed, match=f"已提出申诉（{first.number}）"):
        _file(w, original)
    assert _count(rt, Appeal) == 1


# --- reviewer -------------------------------------------------------------------------------


def _refused_reviewer(rt: Runtime, reviewer: str) -> None:
    w = _world(rt)
    original = _decided(w)
    case = _file(w, original)
    with pytest.raises(
        ValidationFailed, match=f"回避：{_name(w, reviewer)}办理或决定过原案件 {original.number}"
    ) as refused:
        _accept(w, case, reviewer)
    assert refused.value.errors[0]["field"] == "reviewer"
    assert _reviewer(w, case) is None
    assert [t.task_spec for t in w.tasks(case)] == ["accept"]


def test_reviewer_who_decided_case_cannot_review_appeal(rt: Runtime) -> None:
    _refused_reviewer(rt, "committee.hf")


def test_reviewer_who_handled_case_cannot_review_appeal(rt: Runtime) -> None:
    _refused_reviewer(rt, "discipline.hf")


def test_reviewer_must_be_able_to_take_the_review(rt: Runtime) -> None:
    w = _world(rt)
    case = _file(w, _decided(w))
    with pytest.raises(ValidationFailed, match="复核人须为本案管辖单位（ah-hf）的纪检监察机关人员"):
        _accept(w, case, "discipline.wh")
    _accept(w, case)
    assert _reviewer(w, case) == REVIEWER
    assert [(t.task_spec, t.role) for t in w.tasks(case)] == [("review", "discipline")]


def test_only_the_assigned_reviewer_may_review(rt: Runtime) -> None:
    w = _world(rt)
    original, case = _appealed(w)
    with pytest.raises(ValidationFailed, match=f"只有指定的复核人 {REVIEWER} 可以办理本申诉的复核"):
        _review(w, case, "revoke", user="discipline.hf")
    assert _decisions(w, case) == []
    assert _decisions(w, original)[0][3] == "effective"
    assert [t.task_spec for t in w.tasks(case)] == ["review"]


# --- outcomes -------------------------------------------------------------------------------


def test_revoked_demotion_lifts_promotion_ban(rt: Runtime) -> None:
    w = _world(rt)
    original, case = _appealed(w)
    before = _eligibility(w, "2026-03-10")
    assert (before.eligible, before.until, before.case_number) == (
        False,
        date(2028, 3, 2),
        original.number,
    )
    _review(w, case, "revoke")
    assert _eligibility(w, "2026-03-10").eligible
    assert _bans(w) == [("demotion", "2026-03-02", "2028-03-02", "revoked", case.id)]
    assert _decisions(w, original) == [
        ("accountability", "adjustment", "demotion", "revoked", None)
    ]
    assert _decisions(w, case) == [("appeal", "revoke", None, "effective", None)]
    assert w.case(original.id).outcome == "revoked"
    assert (w.case(case.id).status, w.case(case.id).outcome) == ("decided", "revoke")


def test_modified_decision_changes_ban(rt: Runtime) -> None:
    w = _world(rt)
    original, case = _appealed(w)
    with pytest.raises(
        ValidationFailed, match="变更后的处理结果须为不予问责、组织调整、从轻减轻处理、约谈之一"
    ):
        _review(
            w, case, "modify", new_outcome="exempt"
        )  # a determination's outcome, not a decision's
    with pytest.raises(ValidationFailed, match="应作维持决定"):
        _review(w, case, "modify", new_outcome="adjustment", new_adjustment="demotion")
    _review(w, case, "modify", new_outcome="adjustment", new_adjustment="transfer")
    with rt.db.reading() as session:
        first = (
            session.execute(
                select(Decision.id).where(Decision.case_id == original.id).order_by(Decision.id)
            )
            .scalars()
            .first()
        )
    assert _decisions(w, original) == [
        ("accountability", "adjustment", "demotion", "modified", None),
        ("accountability", "adjustment", "transfer", "effective", first),
    ]
    # The ban keeps its start (the original decision date) and takes the new kind's length.
    assert _bans(w) == [
        ("demotion", "2026-03-02", "2028-03-02", "changed", case.id),
        ("transfer", "2026-03-02", "2027-03-02", "active", None),
    ]
    after = _eligibility(w, "2026-03-10")
    assert (after.eligible, after.until) == (False, date(2027, 3, 2))
    assert w.case(original.id).outcome == "transfer"


def test_upheld_decision_keeps_ban(rt: Runtime) -> None:
    w = _world(rt)
    original, case = _appealed(w)
    _review(w, case, "uphold")
    assert _bans(w) == [("demotion", "2026-03-02", "2028-03-02", "active", None)]
    assert _decisions(w, original) == [
        ("accountability", "adjustment", "demotion", "effective", None)
    ]
    assert [(t.task_spec, t.role) for t in w.tasks(case)] == [("notify", "organization")]
    _notify(w, case)
    closed = w.case(case.id)
    assert (closed.status, closed.outcome, closed.received_on) == (
        "closed",
        "uphold",
        date(2026, 3, 10),
    )
    with rt.db.reading() as session:
        assert session.get(Instance, closed.instance_id).status == "completed"


def test_overdue_appeal_review_stays_with_its_reviewer(rt: Runtime) -> None:
    """art. 20's month passing takes no work away: the review stays with the named reviewer,
    who is told; a supervisor's 督办上报 reaches the reviewer; only the reviewer may decide."""
    w = _world(rt)
    _original, case = _appealed(w)  # appeal received 2026-03-10
    review = w.task(case, "review")
    assert review.due_at == at("2026-04-11 00:00")
    assert review.due_basis == "收到申诉之日 2026-03-10 起1个月（问责条例第二十条）"
    _sweep(rt, "2026-04-10 23:00")
    assert [t.task_spec for t in w.tasks(case)] == ["review"]
    assert _overdue_notices(rt, review.id) == []
    _sweep(rt, "2026-04-11 00:30")
    [still] = w.tasks(case)
    assert (still.id, still.task_spec, still.assignee, still.due_at) == (
        review.id,
        "review",
        REVIEWER,
        at("2026-04-11 00:00"),
    )
    told = _overdue_notices(rt, review.id)
    assert [n.username for n in told] == [REVIEWER] and "仍由你办理" in told[0].body
    with rt.transaction() as session:
        done = work.escalate(
            session,
            principal=access.principal_for(session, username="supervisor.hf"),
            task_id=review.id,
            note="复核已逾期，请尽快作出复核决定",
            clock=rt.clock,
        )
    assert REVIEWER in done.notified
    with pytest.raises(ValidationFailed, match="只有指定的复核人"):
        _review(w, case, "uphold", user="discipline.hf")
    _review(w, case, "uphold")
    _notify(w, case)
    assert w.case(case.id).status == "closed"
    assert w.tasks(case) == []


def test_both_cases_show_the_appeal_link(rt: Runtime) -> None:
    w = _world(rt)
    original, case = _appealed(w)
    with rt.db.reading() as session:
        from_original = [
            (d, link.kind, other.number) for d, link, other in cases.linked(session, original.id)
        ]
        from_appeal = [
            (d, link.kind, other.number) for d, link, other in cases.linked(session, case.id)
        ]
    assert from_original == [("to", "appeal", case.number)]
    assert from_appeal == [("from", "appeal", original.number)]


def test_review_is_assigned_to_the_named_reviewer(rt: Runtime) -> None:
    """The review lands in the assigned reviewer's own queue, not only the role's."""
    w = _world(rt)
    _original, appeal_case = _appealed(w)
    assert w.task(appeal_case, "review").assignee == REVIEWER
