"""False-accusation clarification 澄清正名 and the dishonesty blacklist (DOMAIN.md §2.5, §12).

Each test runs on SQLite and PostgreSQL. Every step is its own transaction through the
real services, so the workflow is saved to the database and restored at every step:
the save/restore round trip is part of every scenario here.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from tests.support.world import World, make_world
from workflows.cases import blacklist
from workflows.cases import service as cases
from workflows.cases.models import BlacklistEntry, CaseFile, CaseLink, Clarification, Decision
from workflows.errors import DomainError, ValidationFailed
from workflows.runtime import Runtime

REPORT = "反映张三在项目审批中收受好处"
UNTRUE = {
    "finding": "untrue",
    "verified_on": "2026-03-02",
    "reason": "经调取审批档案、询问相关人员，所反映问题查无实据",
}
CLARIFIED = {
    "form": "talk",
    "scope": "unit",
    "done_on": "2026-03-02",
    "content": "在单位干部大会上说明核实情况，当面谈话消除顾虑",
}
ACCUSER = {
    "accuser_name": "王五",
    "facts": "王五明知项目审批合规，仍多次捏造收受好处的事实并实名告发",
    "evidence": "核实笔录、审批档案",
    "impact": "在当地造成恶劣影响",
    "blacklist_reason": "捏造事实、虚假告发干部，造成恶劣影响",
}


def _open(world: World, **data: Any) -> CaseFile:
    return world.open("clarification", data={"report": REPORT, "trigger": "cadre_request", **data})


def _count(rt: Runtime, model: type) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _refused(
    world: World, case: CaseFile, element: str, data: dict[str, Any], user: str
) -> ValidationFailed:
    with pytest.raises(ValidationFailed) as refused:
        world.complete(case, element, data, user)
    assert world.task(case, element).state == "open"  # nothing stored: the task still waits
    return refused.value


def test_untrue_report_is_clarified_with_form_and_scope(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    case = _open(world)
    assert case.number.startswith("CQ-2026-")
    assert [t.task_spec for t in world.tasks(case)] == ["verify"]
    assert world.task(case, "verify").role == "discipline"
    world.complete(case, "verify", UNTRUE, "discipline.hf")
    clarify = world.task(case, "clarify")
    assert (clarify.role, clarify.org_unit) == ("organization", "ah-hf")
    world.complete(case, "clarify", CLARIFIED, "organization.hf")
    with rt.db.reading() as session:
        row = session.execute(select(Clarification)).scalar_one()
        assert (row.case_id, row.form, row.scope, str(row.done_on), row.recorded_by) == (
            case.id,
            "talk",
            "unit",
            "2026-03-02",
            "organization.hf",
        )
        decision = session.execute(select(Decision)).scalar_one()
        assert (decision.kind, decision.outcome, decision.decided_by) == (
            "verification",
            "untrue",
            "discipline.hf",
        )
    closed = world.case(case.id)
    assert (closed.status, closed.outcome) == ("closed", "clarified")
    assert world.tasks(case) == []
    assert _count(rt, BlacklistEntry) == 0


def test_true_report_closes_without_clarification_and_states_why(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    case = _open(world)
    blank = {**UNTRUE, "finding": "true", "reason": " " * 12}
    assert (
        "「核实情况及理由」请填写此项（不能只有空白）"
        in _refused(world, case, "verify", blank, "discipline.hf").message
    )
    assert _count(rt, Decision) == 0
    world.complete(
        case,
        "verify",
        {**UNTRUE, "finding": "partly_true", "reason": "收受购物卡一事属实，其余查无实据"},
        "discipline.hf",
    )
    closed = world.case(case.id)
    assert (closed.status, closed.outcome) == ("closed", "report_partly_true")
    with rt.db.reading() as session:
        decision = session.execute(select(Decision)).scalar_one()
        assert decision.reason == "收受购物卡一事属实，其余查无实据"
    assert world.tasks(case) == []
    assert _count(rt, Clarification) == 0


def test_clarification_needs_form_and_scope(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    case = _open(world)
    world.complete(case, "verify", UNTRUE, "discipline.hf")
    no_form = {k: v for k, v in CLARIFIED.items() if k != "form"}
    assert {
        e["field"] for e in _refused(world, case, "clarify", no_form, "organization.hf").errors
    } == {"form"}
    no_scope = {k: v for k, v in CLARIFIED.items() if k != "scope"}
    assert {
        e["field"] for e in _refused(world, case, "clarify", no_scope, "organization.hf").errors
    } == {"scope"}
    unnamed_spread = {**CLARIFIED, "scope": "spread"}
    refused = _refused(world, case, "clarify", unnamed_spread, "organization.hf")
    assert "§12 在反映问题的范围内澄清，须写明该范围" in refused.message
    assert refused.errors[0]["field"] == "spread_description"
    assert _count(rt, Clarification) == 0
    world.complete(
        case,
        "clarify",
        {**unnamed_spread, "spread_description": "县直机关及所在乡镇"},
        "organization.hf",
    )
    assert _count(rt, Clarification) == 1


def test_clarification_is_recorded_after_verification_not_ahead_of_time(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    case = _open(world)
    world.complete(case, "verify", UNTRUE, "discipline.hf")
    early = _refused(
        world, case, "clarify", {**CLARIFIED, "done_on": "2026-03-01"}, "organization.hf"
    )
    assert "早于核实日期 2026-03-02" in early.message
    future = _refused(
        world, case, "clarify", {**CLARIFIED, "done_on": "2026-03-09"}, "organization.hf"
    )
    assert "「澄清日期」不能晚于今天（2026-03-02）" in future.message
    assert _count(rt, Clarification) == 0


def test_fabrication_is_found_only_in_an_untrue_report(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    case = _open(world)
    refused = _refused(
        world, case, "verify", {**UNTRUE, "finding": "true", "fabricated": True}, "discipline.hf"
    )
    assert refused.errors[0]["field"] == "fabricated" and "§12" in refused.message
    assert _count(rt, Decision) == 0


def test_report_found_in_a_case_names_that_case_and_is_linked(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    with pytest.raises(ValidationFailed) as refused:
        _open(world, trigger="found_in_case")
    assert "§12 案件办理中发现的不实反映须注明所涉案件" in refused.value.message
    assert _count(rt, CaseFile) == 0  # the refused start stored nothing
    first = _open(world)
    second = _open(world, trigger="found_in_case", related_case_id=first.id)
    with rt.db.reading() as session:
        links = [(d, row.kind, other.id) for d, row, other in cases.linked(session, second.id)]
    assert links == [("from", "clarification", first.id)]


def _fabricated_case(world: World) -> CaseFile:
    case = _open(world)
    world.complete(case, "verify", {**UNTRUE, "fabricated": True}, "discipline.hf")
    assert sorted(t.task_spec for t in world.tasks(case)) == ["clarify", "pursue"]
    world.complete(case, "clarify", CLARIFIED, "organization.hf")
    assert world.case(case.id).status == "open"  # still waiting for the accuser's handling
    return case


def test_fabricated_accusation_adds_blacklist_entry(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification", "accountability"])
    case = _fabricated_case(world)
    missing = _refused(world, case, "pursue", {**ACCUSER, "accuser_name": " "}, "discipline.hf")
    assert missing.errors[0]["field"] == "accuser_name"
    assert _count(rt, BlacklistEntry) == 0 and _count(rt, CaseFile) == 1
    world.complete(case, "pursue", ACCUSER, "discipline.hf")
    with rt.db.reading() as session:
        [entry] = blacklist.current(session)
    assert (entry.person_name, entry.basis_case_id, entry.reviewer, str(entry.entered_on)) == (
        "王五",
        case.id,
        "discipline.hf",
        "2026-03-02",
    )
    assert entry.reason == ACCUSER["blacklist_reason"]
    assert (world.case(case.id).status, world.case(case.id).outcome) == ("closed", "clarified")


def test_fabricated_accusation_opens_accountability_of_the_accuser(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification", "accountability"])
    case = _fabricated_case(world)
    world.complete(case, "pursue", ACCUSER, "discipline.hf")
    with rt.db.reading() as session:
        link = session.execute(
            select(CaseLink).where(CaseLink.from_case_id == case.id)
        ).scalar_one()
        accuser_case = cases.get(session, link.to_case_id)
    assert link.kind == "accuser_accountability"
    assert (accuser_case.kind, accuser_case.subject_name, accuser_case.cadre_id) == (
        "accountability",
        "王五",
        None,
    )
    assert (accuser_case.org_unit_code, accuser_case.source) == ("ah-hf", "false_accusation")
    assert accuser_case.number.startswith("WZ-2026-")
    assert world.tasks(accuser_case), "the accuser's accountability case waits for its first step"


def _add(rt: Runtime, **kwargs: Any) -> BlacklistEntry:
    values = {
        "person_name": "王五",
        "reviewer": "discipline.hf",
        "reason": "捏造事实、虚假告发",
        "entered_on": rt.clock.today(),
        **kwargs,
    }
    with rt.transaction() as session:
        return blacklist.add_entry(session, clock=rt.clock, **values)


def test_blacklist_entry_without_basis_case_is_refused(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    for basis in (None, 999):
        with pytest.raises(ValidationFailed) as refused:
            _add(rt, basis_case_id=basis)
        assert "失信黑名单须有依据案件" in refused.value.message
        assert refused.value.errors[0]["field"] == "basis_case_id"
    case = _open(world)
    for field, rule in (("reviewer", "审核人"), ("reason", "理由")):
        with pytest.raises(ValidationFailed) as refused:
            _add(rt, basis_case_id=case.id, **{field: "  "})
        assert rule in refused.value.message and refused.value.errors[0]["field"] == field
    assert _count(rt, BlacklistEntry) == 0


def test_blacklist_entry_is_removed_only_by_a_new_entry(rt: Runtime) -> None:
    world = make_world(rt, processes=["clarification"])
    case = _open(world)
    entry = _add(rt, basis_case_id=case.id)
    with rt.db.transaction() as session, pytest.raises(DomainError, match="不得修改或删除"):
        session.get(BlacklistEntry, entry.id).reason = "改写"
        session.flush()
    with rt.db.transaction() as session, pytest.raises(DomainError, match="不得修改或删除"):
        session.delete(session.get(BlacklistEntry, entry.id))
        session.flush()
    removal = _add(
        rt,
        basis_case_id=case.id,
        person_name="",
        reviewer="organization.hf",
        reason="经复查，原列入依据已撤销",
        removes_entry_id=entry.id,
    )
    assert removal.person_name == "王五"
    for target, rule in (
        (entry.id, "只能移出一次"),
        (removal.id, "须指向在册条目"),
        (999, "须指向在册条目"),
    ):
        with pytest.raises(ValidationFailed, match=rule):
            _add(rt, basis_case_id=case.id, removes_entry_id=target)
    with rt.db.reading() as session:
        assert blacklist.current(session) == []
        register = blacklist.register(session)
        assert [(e.id, e.removes_entry_id) for e in register] == [
            (entry.id, None),
            (removal.id, entry.id),
        ]
        assert register[0].reason == "捏造事实、虚假告发"  # the listing itself is unchanged


def test_database_refuses_changing_or_deleting_a_blacklist_entry(rt: Runtime) -> None:
    """Beyond the service: the table itself is append-only (DOMAIN.md §5)."""
    import sqlalchemy.exc
    from sqlalchemy import text

    world = make_world(rt, processes=["clarification"])
    _add(rt, basis_case_id=_open(world).id)
    for statement in ("UPDATE blacklist_entry SET reason = 'x'", "DELETE FROM blacklist_entry"):
        with pytest.raises(sqlalchemy.exc.DatabaseError), rt.db.transaction() as session:
            session.execute(text(statement))
    assert _count(rt, BlacklistEntry) == 1
