"""Periodic work (DOMAIN.md §3): yearly heart-to-heart talks (§16), assessment outcomes
(§9) and the selection of outstanding typical cadres every two years (§15).

These processes have no case number; they are started with `instances.start`. Each test
runs on SQLite and PostgreSQL; every step and every timer sweep is its own transaction,
so the workflow is saved and restored between all steps.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from tests import support
from tests.conftest import at, set_clock
from tests.support.world import World, make_world
from workflows import access
from workflows.cadres import service as cadres
from workflows.cases.models import CaseFile, Decision
from workflows.engine.models import CalendarYear
from workflows.errors import ValidationFailed
from workflows.runtime import Runtime
from workflows.supervision import views as supervision
from workflows.tasks import deadlines
from workflows.tasks import service as work
from workflows.tasks.models import Notification

PAIRS = [
    {
        "upper": "合肥市委书记",
        "upper_unit": "合肥市",
        "lower": "肥东县委书记",
        "lower_unit": "肥东县",
    },
    {
        "upper": "合肥市委书记",
        "upper_unit": "合肥市",
        "lower": "肥西县委书记",
        "lower_unit": "肥西县",
    },
]
TALKED = {"talked_on": "2027-01-15", "summary": "谈工作、谈思想、谈作风，释疑解惑、加油鼓劲"}


def _open_names(rt: Runtime, instance_id: int) -> list[str]:
    return sorted(t.task_spec for t in support.open_tasks(rt, instance_id))


def _sweep(rt: Runtime, moment: str) -> None:
    """What the scheduler does at `moment`: the process timers, then the steps' alarms."""
    set_clock(rt, moment)
    support.sweep(rt)
    deadlines.sweep(rt.db, clock=rt.clock)


def _notices(rt: Runtime, kind: str, task_id: int) -> list[Notification]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(Notification)
                .where(Notification.kind == kind, Notification.task_id == task_id)
                .order_by(Notification.id)
            ).scalars()
        )


def _refused(rt: Runtime, task_id: int, data: dict[str, Any], user: str) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        support.complete(rt, task_id, data, user)
    assert [t.id for t in support.open_tasks(rt) if t.id == task_id] == [task_id]  # still open
    return refused.value


# --- §16 yearly heart-to-heart talks ------------------------------------------------------


def _talks_planned(rt: Runtime) -> int:
    make_world(rt, processes=["yearly_talks"])
    instance_id = support.start(rt, "yearly_talks", org_unit="ah-hf")
    assert _open_names(rt, instance_id) == []
    [timer] = support.timer_rows(rt, instance_id)
    assert (timer.kind, timer.fire_at) == ("start", at("2027-01-15 09:00"))
    set_clock(rt, "2027-01-15 10:00")
    support.sweep(rt)
    plan = support.task_named(rt, "plan", instance_id)
    assert (plan.role, plan.org_unit) == ("organization", "ah-hf")
    support.complete(rt, plan.id, {"pairs": PAIRS}, "organization.hf")
    return instance_id


def test_yearly_talks_start_each_year(rt: Runtime) -> None:
    instance_id = _talks_planned(rt)
    talks = [t for t in support.open_tasks(rt, instance_id) if t.task_spec == "talk"]
    assert len(talks) == 2  # one task per pair
    assert {t.due_at for t in talks} == {at("2028-01-01 00:00")}  # by the end of 2027
    assert (
        min(t.due_basis or "" for t in talks)
        == "2027年度谈心谈话：合肥市委书记 与 肥东县委书记，2027-12-31 前完成"
    )
    for talk in talks:
        support.complete(rt, talk.id, TALKED, "organization.hf")
    assert _open_names(rt, instance_id) == []
    set_clock(rt, "2028-01-15 10:00")
    support.sweep(rt)
    plan = support.task_named(rt, "plan", instance_id)
    support.complete(rt, plan.id, {"pairs": PAIRS[:1]}, "organization.hf")
    [talk] = support.open_tasks(rt, instance_id)
    assert talk.due_at == at("2029-01-01 00:00") and (talk.due_basis or "").startswith("2028年度")


def test_talk_not_done_by_year_end_stays_open_and_overdue(rt: Runtime) -> None:
    """§16's year end passing takes no work away: the talk stays with organization, marked
    overdue and told once; the supervisor sees it once and escalates it with a 督办期限; the
    talk done late completes the year."""
    instance_id = _talks_planned(rt)
    first, second = support.open_tasks(rt, instance_id)
    support.complete(rt, first.id, TALKED, "organization.hf")
    _sweep(rt, "2027-12-31 23:00")
    assert _open_names(rt, instance_id) == ["talk"]
    assert _notices(rt, "overdue", second.id) == []
    _sweep(rt, "2028-01-01 00:01")
    [still] = support.open_tasks(rt, instance_id)
    assert (still.id, still.task_spec, still.role, still.org_unit, still.due_at) == (
        second.id,
        "talk",
        "organization",
        "ah-hf",
        at("2028-01-01 00:00"),
    )
    told = _notices(rt, "overdue", second.id)
    assert "organization.hf" in {n.username for n in told} and "仍由你办理" in told[0].body
    _sweep(rt, "2028-01-03 09:00")  # told once
    assert len(_notices(rt, "overdue", second.id)) == len(told)
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
    assert [(r.task_id, r.element, r.process, r.escalation) for r in rows] == [
        (second.id, "talk", "yearly_talks", False)
    ]
    assert (rows[0].due_basis or "").startswith("2027年度谈心谈话：")
    with rt.transaction() as session:
        done = work.escalate(
            session,
            principal=access.principal_for(session, username="supervisor.hf"),
            task_id=second.id,
            note="限1月底前补谈",
            clock=rt.clock,
            until=date(2028, 1, 31),
        )
    assert "organization.hf" in done.notified
    assert done.supervision_due_at == at("2028-02-01 00:00")
    support.complete(rt, second.id, {**TALKED, "talked_on": "2028-01-02"}, "organization.hf")
    assert _open_names(rt, instance_id) == []


def test_talk_pairs_are_not_repeated_in_one_year(rt: Runtime) -> None:
    make_world(rt, processes=["yearly_talks"])
    instance_id = support.start(rt, "yearly_talks", org_unit="ah-hf")
    set_clock(rt, "2027-01-15 10:00")
    support.sweep(rt)
    plan = support.task_named(rt, "plan", instance_id)
    refused = _refused(rt, plan.id, {"pairs": [PAIRS[0], PAIRS[1], PAIRS[0]]}, "organization.hf")
    assert "§16" in refused.message and refused.errors[0]["field"] == "pairs/2"
    assert _open_names(rt, instance_id) == ["plan"]


# --- §9 assessment outcomes ----------------------------------------------------------------


def _assessed(rt: Runtime, world: World, **result: Any) -> int:
    instance_id = support.start(rt, "assessment_outcomes", org_unit="ah-hf")
    record = support.task_named(rt, "record", instance_id)
    support.complete(
        rt,
        record.id,
        {"assessed_cadre_id": world.cadres["zhang"], "assessment_year": 2025, **result},
        "organization.hf",
    )
    return instance_id


def test_assessment_excellent_leads_to_commendation(rt: Runtime) -> None:
    world = make_world(rt, processes=["assessment_outcomes"])
    instance_id = _assessed(rt, world, grade="excellent")
    commend = support.task_named(rt, "commend", instance_id)
    assert commend.role == "organization"
    support.complete(
        rt, commend.id, {"commended_on": "2026-03-02", "circular_scope": "全市"}, "organization.hf"
    )
    assert support.instance(rt, instance_id).status == "completed"


def test_assessment_bottom_ranking_leads_to_admonishment_talk(rt: Runtime) -> None:
    world = make_world(rt, processes=["assessment_outcomes"])
    instance_id = _assessed(rt, world, grade="competent", bottom_ranking=True)
    assert _open_names(rt, instance_id) == ["admonish"]
    other = _assessed(rt, world, grade="competent")
    assert support.instance(rt, other).status == "completed"  # nothing to follow up


def test_assessment_result_is_used_only_by_the_managing_unit(rt: Runtime) -> None:
    world = make_world(rt, processes=["assessment_outcomes"])
    instance_id = support.start(rt, "assessment_outcomes", org_unit="ah-wh")
    record = support.task_named(rt, "record", instance_id)
    refused = _refused(
        rt,
        record.id,
        {"assessed_cadre_id": world.cadres["zhang"], "assessment_year": 2025, "grade": "excellent"},
        "organization.wh",
    )
    assert "§11 按干部管理权限" in refused.message
    contradictory = {
        "assessed_cadre_id": world.cadres["zhang"],
        "assessment_year": 2025,
        "grade": "excellent",
        "unfit_for_post": True,
    }
    own = support.start(rt, "assessment_outcomes", org_unit="ah-hf")
    refused = _refused(
        rt, support.task_named(rt, "record", own).id, contradictory, "organization.hf"
    )
    assert refused.errors[0]["field"] == "grade"


def test_assessment_unfit_opens_accountability_case(rt: Runtime) -> None:
    world = make_world(rt, processes=["assessment_outcomes", "accountability"])
    instance_id = _assessed(rt, world, grade="competent", unfit_for_post=True)
    adjust = support.task_named(rt, "adjust", instance_id)
    with rt.db.reading() as session:
        before = session.execute(select(func.count()).select_from(CaseFile)).scalar_one()
    assert before == 0
    support.complete(
        rt,
        adjust.id,
        {
            "facts": "年度考核认定不适宜担任现职，群众满意度连续两年末位",
            "evidence": "2025年度考核材料",
        },
        "organization.hf",
    )
    with rt.db.reading() as session:
        case = session.execute(select(CaseFile)).scalar_one()
    assert (case.kind, case.cadre_id, case.source, case.org_unit_code) == (
        "accountability",
        world.cadres["zhang"],
        "assessment",
        "ah-hf",
    )
    assert support.instance(rt, instance_id).status == "completed"


# --- §15 outstanding typical cadres ----------------------------------------------------------

NOMINEE = {
    "name": "李四",
    "post": "肥东县某镇党委书记",
    "category": "township_secretary",
    "deeds": "带领全镇完成产业转型，群众满意度全县第一",
    "recommend_promotion": True,
}


def _nominated(rt: Runtime, world: World, instance_id: int) -> int:
    nominate = support.task_named(rt, "nominate", instance_id)
    support.complete(
        rt,
        nominate.id,
        {"nominees": [{**NOMINEE, "cadre_id": world.cadres["li"]}]},
        "organization.hf",
    )
    return support.task_named(rt, "approve", instance_id).id


def test_typical_selection_every_two_years(rt: Runtime) -> None:
    world = make_world(rt, processes=["typical_selection"])
    instance_id = support.start(rt, "typical_selection", org_unit="ah-hf")
    set_clock(rt, "2027-03-01 10:00")
    support.sweep(rt)
    approve = _nominated(rt, world, instance_id)
    support.complete(rt, approve, {"approved": False, "opinion": "事迹材料需补充"}, "committee.hf")
    approve = _nominated(rt, world, instance_id)  # back for a new nomination
    support.complete(
        rt, approve, {"approved": True, "opinion": "同意，予以通报表扬"}, "committee.hf"
    )
    publicize = support.task_named(rt, "publicize", instance_id)
    support.complete(
        rt,
        publicize.id,
        {"publicized_on": "2027-03-01", "channels": "安徽日报、党建网"},
        "organization.hf",
    )
    assert _open_names(rt, instance_id) == []
    set_clock(rt, "2028-03-02 10:00")
    support.sweep(rt)
    assert _open_names(rt, instance_id) == []  # not the next year
    with rt.db.transaction() as session:  # the steps' time limits count 2029's working days
        session.add(CalendarYear(year=2029, note="tests: Monday to Friday"))
    set_clock(rt, "2029-03-02 10:00")
    support.sweep(rt)
    assert _open_names(rt, instance_id) == ["nominate"]
    nominate = support.task_named(rt, "nominate", instance_id)
    assert nominate.due_basis == "分配之日 2029-03-02 起10个工作日"
    assert nominate.due_at == at("2029-03-17 00:00")  # Friday 03-02 + 10 working days


def test_typical_cadre_under_a_promotion_ban_is_not_recommended_for_promotion(rt: Runtime) -> None:
    world = make_world(rt, processes=["typical_selection", "clarification"])
    basis = world.open(
        "clarification", cadre="li", data={"report": "测试", "trigger": "cadre_request"}
    )
    with rt.transaction() as session:
        decision = Decision(
            case_id=basis.id,
            kind="accountability",
            outcome="adjustment",
            adjustment="demotion",
            reason="降职",
            decided_on=date(2026, 1, 5),
            decided_by="committee.hf",
            recorded_at=rt.clock.now(),
        )
        session.add(decision)
        session.flush()
        cadres.add_ban(
            session,
            cadre_id=world.cadres["li"],
            case_id=basis.id,
            decision_id=decision.id,
            adjustment="demotion",
            decided_on=date(2026, 1, 5),
        )
    instance_id = support.start(rt, "typical_selection", org_unit="ah-hf")
    set_clock(rt, "2027-03-01 10:00")
    support.sweep(rt)
    approve = _nominated(rt, world, instance_id)
    refused = _refused(rt, approve, {"approved": True, "opinion": "同意"}, "committee.hf")
    assert "§6" in refused.message and "2028-01-05" in refused.message
    assert refused.errors[0]["field"] == "nominees/0/recommend_promotion"
