"""Tolerance and exemption review 容错免责 (DOMAIN.md §2.2; source §10, §11, §12).

Every step goes through the database (restore, step, save), so each scenario also runs
with save/restore between steps. Refusals are checked to store nothing: no new rows,
the same instance version, the task still open.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
from lxml import etree
from sqlalchemy import func, select

from tests.conftest import set_clock
from tests.support.world import BPMN, FORMS, World, make_world
from workflows.cases import tolerance
from workflows.cases.models import CaseFile, CaseLink, Decision, SixElementAnalysis
from workflows.definitions import deployment, xmlgate
from workflows.engine import expressions, functions, timers, versions
from workflows.engine import spiff as engine
from workflows.engine.calendar import WorkCalendar
from workflows.engine.clock import Clock
from workflows.engine.models import AuditEvent, HumanTask, Instance, ProcessVersion
from workflows.errors import ValidationFailed
from workflows.runtime import Runtime

DMN = BPMN / "decisions" / "six_elements.dmn"
DMN_NS = {"dmn": "https://www.omg.org/spec/DMN/20191111/MODEL/"}
KEYS = [key for key, *_ in tolerance.ELEMENTS]


# --- steps -----------------------------------------------------------------------------


def world(rt: Runtime, *extra: str) -> World:
    # rectification: approving an exemption or mitigation opens a rectification case (§12).
    return make_world(rt, processes=["tolerance_review", "rectification", *extra])


def apply(w: World, **data: Any) -> CaseFile:
    """免责申请 by the cadre's unit."""
    return w.open(
        "tolerance_review",
        data={
            "origin": "application",
            "applicant": "unit",
            "facts": "推进园区改革试点中审批流程出现失误",
            "reasons": "属于先行先试中的失误，已主动补救",
            **data,
        },
    )


def accept(w: World, case: CaseFile) -> None:
    w.complete(
        case,
        "accept",
        {
            "acceptance": "accept",
            "verification": "skip",
            "skip_reason": "事实已由申请材料和审计报告查清",
        },
        "discipline.hf",
    )


def analysis(**poles: str) -> dict[str, Any]:
    """A complete analysis: every element favourable unless named, each with its reason."""
    data: dict[str, Any] = {}
    for key in KEYS:
        data[key] = poles.get(key, "favourable")
        data[f"{key}_reason"] = f"经核实，{key} 一项的研判依据如下"
    for key, _ in tolerance.DISTINCTIONS:
        data[key] = True
        data[f"{key}_note"] = "属于可容的一端，理由如下"
    return data


def analyse(w: World, case: CaseFile, **poles: str) -> None:
    w.complete(case, "analyse", analysis(**poles), "discipline.hf")


def determine(w: World, case: CaseFile, opinion: str, **extra: str) -> None:
    w.complete(
        case,
        "determine",
        {"opinion": opinion, "opinion_reason": "综合六个要件，认定理由如下", **extra},
        "discipline.hf",
    )


def approve(w: World, case: CaseFile, **extra: str) -> None:
    w.complete(case, "approve", {"approval": "approve", **extra}, "committee.hf")


def determined(w: World, opinion: str = "reject", **poles: str) -> CaseFile:
    """A case waiting for the committee with the given opinion (departing as needed)."""
    case = apply(w)
    accept(w, case)
    analyse(w, case, **poles)
    extra = {} if recommendation(w, case) == opinion else {"departure_reason": "偏离建议的理由如下"}
    determine(w, case, opinion, **extra)
    return case


def recommendation(w: World, case: CaseFile) -> str:
    with w.rt.db.reading() as session:
        found = tolerance.latest_analysis(session, case.id)
        assert found is not None
        return found.recommendation


def rows(w: World, case: CaseFile) -> dict[str, int]:
    """Row counts a refused step must leave unchanged, and the instance version."""
    with w.rt.db.reading() as session:
        counts = {
            model.__name__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (CaseFile, CaseLink, Decision, SixElementAnalysis, AuditEvent)
        }
        counts["version"] = session.get(Instance, w.case(case.id).instance_id).version
        return counts


def refused(
    w: World,
    case: CaseFile,
    element: str,
    data: dict[str, Any],
    user: str,
    *,
    rule: str,
    field: str,
) -> None:
    """The step is refused naming the rule and the field, and nothing is stored."""
    task, before = w.task(case, element), rows(w, case)
    with pytest.raises(ValidationFailed) as err:
        w.complete(case, element, data, user)
    assert rule in err.value.message
    assert [e["field"] for e in err.value.errors] == [field]
    assert rows(w, case) == before
    assert w.task(case, element).id == task.id


# --- the decision table --------------------------------------------------------------


def _table() -> tuple[list[str], list[tuple[str, list[str | None], str]]]:
    """The inputs and the rules (id, entries with None for '-', output) of six_elements.dmn."""
    root = etree.parse(str(DMN)).getroot()
    inputs = [node.text for node in root.iterfind(".//dmn:inputExpression/dmn:text", DMN_NS)]
    table = []
    for rule in root.iterfind(".//dmn:rule", DMN_NS):
        entries = [node.text.strip() for node in rule.iterfind("dmn:inputEntry/dmn:text", DMN_NS)]
        output = rule.find("dmn:outputEntry/dmn:text", DMN_NS).text.strip().strip('"')
        table.append(
            (rule.get("id"), [None if e == "-" else e.strip('"') for e in entries], output)
        )
    return inputs, table


def _first_hit(
    table: list[tuple[str, list[str | None], str]], inputs: list[str], poles: dict[str, str]
) -> tuple[str, str] | None:
    for rule_id, entries, output in table:
        if all(
            entry is None or poles[key] == entry for key, entry in zip(inputs, entries, strict=True)
        ):
            return rule_id, output
    return None


_RUNNER = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d" targetNamespace="t">
  <bpmn:process id="table_runner" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:businessRuleTask id="r"><bpmn:extensionElements><spiffworkflow:calledDecisionId>six_elements</spiffworkflow:calledDecisionId></bpmn:extensionElements>
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:businessRuleTask>
    <bpmn:endEvent id="e"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="s" targetRef="r" />
    <bpmn:sequenceFlow id="b" sourceRef="r" targetRef="e" />
  </bpmn:process>
</bpmn:definitions>"""


def test_six_element_table_validates_and_every_rule_is_reachable() -> None:
    import SpiffWorkflow  # only for the DMN 1.3 schema it ships

    checked = deployment.check(
        deployment.collect([DMN]), form_source=deployment.FormFolder(FORMS), max_bytes=2_000_000
    )
    assert checked.problems == [] and [d for d, _ in checked.decisions] == ["six_elements"]
    xsd = Path(SpiffWorkflow.__file__).parent / "dmn" / "parser" / "schema" / "DMN13.xsd"
    schema = etree.XMLSchema(etree.parse(str(xsd)))
    assert schema.validate(etree.parse(str(DMN))), schema.error_log
    inputs, table = _table()
    assert inputs == KEYS
    # The real engine (safe evaluator) and a plain reading of the table agree on all 64 cases.
    definitions = engine.Definitions()
    definitions.add_bpmn(
        xmlgate.parse(_RUNNER.encode(), filename="r.bpmn", max_bytes=10_000), "r.bpmn"
    )
    definitions.add_dmn(
        xmlgate.parse(DMN.read_bytes(), filename=DMN.name, max_bytes=100_000), DMN.name
    )
    compiled = definitions.compile("table_runner")
    clock = Clock()
    fns = expressions.standard_functions(calendar=WorkCalendar(), clock=clock)
    hits: set[str] = set()
    for combination in itertools.product(tolerance.POLES, repeat=len(KEYS)):
        poles = dict(zip(KEYS, combination, strict=True))
        hit = _first_hit(table, inputs, poles)
        assert hit is not None, f"no rule for {poles}"
        assert (
            engine.start(compiled, poles, clock=clock, functions=fns).data["recommendation"]
            == hit[1]
        )
        if "unfavourable" in (poles["nature"], poles["motive"]):
            assert hit[1] == "reject", f"red line crossed by {hit[0]}"
        hits.add(hit[0])
    assert hits == {rule_id for rule_id, _, _ in table}, "unreachable rules"


# --- red lines and the table's rows through the process ------------------------------


def _red_line(rt: Runtime, element: str) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    analyse(w, case, **{element: "unfavourable"})
    assert recommendation(w, case) == "reject"
    for opinion in tolerance.GRANTED:  # whatever the reasons given
        refused(
            w,
            case,
            "determine",
            {
                "opinion": opinion,
                "opinion_reason": "改革创新中的失误理由",
                "departure_reason": "该同志一贯表现良好，请求从宽",
            },
            "discipline.hf",
            rule="§10",
            field="opinion",
        )
    determine(w, case, "reject")
    assert w.task(case, "approve")


def test_violation_of_discipline_is_never_tolerated(rt: Runtime) -> None:
    _red_line(rt, "nature")


def test_private_gain_is_never_tolerated(rt: Runtime) -> None:
    _red_line(rt, "motive")


def test_all_favourable_elements_recommend_exemption(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    analyse(w, case)
    assert recommendation(w, case) == "exempt"
    with w.rt.db.reading() as session:
        row = tolerance.latest_analysis(session, case.id)
        assert row is not None and row.analysed_by == "discipline.hf"
        assert '"nature": {"pole": "favourable"' in row.elements


def test_unfavourable_consequences_recommend_mitigation(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    analyse(w, case, consequences="unfavourable")
    assert recommendation(w, case) == "mitigate"


@pytest.mark.parametrize(
    ("poles", "expected"),
    [
        ({"conditions": "unfavourable"}, "mitigate"),
        ({"procedure": "unfavourable"}, "mitigate"),
        ({"recovery": "unfavourable"}, "mitigate"),
        ({"conditions": "unfavourable", "procedure": "unfavourable"}, "reject"),
        ({"consequences": "unfavourable", "recovery": "unfavourable"}, "reject"),
    ],
    ids=[
        "reckless_only",
        "arbitrary_only",
        "ignored_only",
        "reckless_and_arbitrary",
        "egregious_and_ignored",
    ],
)
def test_recommendation_follows_the_six_element_table(
    rt: Runtime, poles: dict[str, str], expected: str
) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    analyse(w, case, **poles)
    assert recommendation(w, case) == expected


# --- the analysis must be complete ----------------------------------------------------


def test_analysis_missing_an_element_is_refused(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    data = analysis()
    del data["recovery"]
    refused(w, case, "analyse", data, "discipline.hf", rule="请选择一项", field="recovery")


def test_element_without_reason_is_refused(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    data = analysis()
    data["procedure_reason"] = "    "
    refused(
        w,
        case,
        "analyse",
        data,
        "discipline.hf",
        rule="「程序方法研判理由」请填写此项（不能只有空白）",
        field="procedure_reason",
    )


def test_analysis_reports_every_problem_at_once(rt: Runtime) -> None:
    """Three problems, one answer: two reasons missing and a distinction contradicting 性质程度."""
    w = world(rt)
    case = apply(w)
    accept(w, case)
    data = analysis()
    del data["recovery_reason"], data["distinction_exploratory_note"]
    data["distinction_pioneering"] = False
    before = rows(w, case)
    with pytest.raises(ValidationFailed) as err:
        w.complete(case, "analyse", data, "discipline.hf")
    assert err.value.message.startswith("表单有 3 处需要修改：")
    assert err.value.errors == [
        {"field": "recovery_reason", "message": "请填写此项"},
        {"field": "distinction_exploratory_note", "message": "请填写此项"},
        {
            "field": "nature",
            "message": "选择「因缺乏经验、先行先试出现的失误错误（而非明知故犯的违纪违法行为）：否」"
            "时应为「违纪违法行为」：§10 已认定不属于可容的一端（明知故犯的违纪违法行为），"
            "性质程度应为违纪违法行为",
        },
    ]
    assert rows(w, case) == before


def test_knowing_violation_cannot_be_judged_an_ordinary_mistake(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    data = analysis()
    data["distinction_pioneering"] = False  # 明知故犯 …
    refused(
        w, case, "analyse", data, "discipline.hf", rule="§10", field="nature"
    )  # … yet 一般性失误


# --- the determination -----------------------------------------------------------------


def test_departure_from_recommendation_needs_a_reason(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    analyse(w, case, consequences="unfavourable")
    refused(
        w,
        case,
        "determine",
        {"opinion": "reject", "opinion_reason": "影响恶劣，不予容错"},
        "discipline.hf",
        rule="与六个要件分析建议「从轻或减轻处理」不一致，须说明理由",
        field="departure_reason",
    )
    determine(w, case, "reject", departure_reason="造成的社会影响远超事态可控范围")
    approve(w, case)
    with w.rt.db.reading() as session:
        decision = session.execute(select(Decision).where(Decision.case_id == case.id)).scalar_one()
    assert (
        decision.kind,
        decision.outcome,
        decision.recommendation,
        decision.departure_reason,
        decision.decided_by,
    ) == ("tolerance", "reject", "mitigate", "造成的社会影响远超事态可控范围", "committee.hf")
    assert (w.case(case.id).status, w.case(case.id).outcome) == ("decided", "reject")


def test_determination_states_its_reason(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    accept(w, case)
    analyse(w, case)
    refused(
        w,
        case,
        "determine",
        {"opinion": "exempt"},
        "discipline.hf",
        rule="「认定理由」请填写此项",
        field="opinion_reason",
    )


def test_committee_returns_the_determination_with_a_reason(rt: Runtime) -> None:
    w = world(rt)
    case = determined(w, "reject", consequences="unfavourable")
    refused(
        w,
        case,
        "approve",
        {"approval": "return"},
        "committee.hf",
        rule="退回重新认定须说明理由",
        field="return_reason",
    )
    w.complete(
        case,
        "approve",
        {"approval": "return", "return_reason": "请补充补救措施的情况"},
        "committee.hf",
    )
    assert [t.task_spec for t in w.tasks(case)] == ["determine"]
    assert _task_data(w, case, "determine")["return_reason"] == "请补充补救措施的情况"
    determine(w, case, "mitigate")
    assert w.task(case, "approve")


# --- rectification (§12) ---------------------------------------------------------------


def test_exemption_requires_rectification_with_deadline(rt: Runtime) -> None:
    w = world(rt)
    case = determined(w, "exempt")
    with pytest.raises(ValidationFailed) as both:  # both missing: refused together
        approve(w, case)
    assert both.value.message.startswith("共 2 处不符合规定：§12")
    assert [e["field"] for e in both.value.errors] == [
        "rectification_requirements",
        "rectification_deadline",
    ]
    refused(
        w,
        case,
        "approve",
        {"approval": "approve", "rectification_requirements": "完善审批制度"},
        "committee.hf",
        rule="§12",
        field="rectification_deadline",
    )
    approve(
        w,
        case,
        rectification_requirements="完善园区审批制度并报送整改报告",
        rectification_deadline="2026-06-30",
    )
    assert (w.case(case.id).status, w.case(case.id).outcome) == ("decided", "exempt")
    with w.rt.db.reading() as session:
        link = session.execute(
            select(CaseLink).where(CaseLink.from_case_id == case.id)
        ).scalar_one()
        rectification = session.get(CaseFile, link.to_case_id)
        assert (link.kind, rectification.kind, rectification.cadre_id) == (
            "rectification",
            "rectification",
            w.cadres["zhang"],
        )
    first = w.tasks(rectification)[0]
    assert {
        key: _task_data(w, rectification, first.task_spec)[key]
        for key in ("requirements", "deadline", "basis", "issued_by")
    } == {
        "requirements": "完善园区审批制度并报送整改报告",
        "deadline": "2026-06-30",
        "basis": "tolerance",
        "issued_by": "committee.hf",
    }


def test_rectification_deadline_in_the_past_is_refused(rt: Runtime) -> None:
    w = world(rt)
    case = determined(w, "mitigate", consequences="unfavourable")
    refused(
        w,
        case,
        "approve",
        {
            "approval": "approve",
            "rectification_requirements": "完善审批制度",
            "rectification_deadline": "2026-03-01",
        },
        "committee.hf",
        rule="§12 责令限期整改：整改期限 2026-03-01 已过",
        field="rectification_deadline",
    )


# --- acceptance and verification -----------------------------------------------------


def test_refused_application_states_the_reason(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    refused(
        w,
        case,
        "accept",
        {"acceptance": "refuse"},
        "discipline.hf",
        rule="§11",
        field="refuse_reason",
    )
    w.complete(
        case,
        "accept",
        {
            "acceptance": "refuse",
            "refuse_reason": "所涉问题系违反中央八项规定精神，不属于改革创新中的失误错误",
        },
        "discipline.hf",
    )
    closed = w.case(case.id)
    assert (closed.status, closed.outcome, closed.closed_at is not None) == (
        "closed",
        "not_accepted",
        True,
    )
    assert w.tasks(case) == []


def test_application_names_its_applicant_and_reasons(rt: Runtime) -> None:
    w = world(rt)
    with w.rt.db.reading() as session:
        before = session.execute(select(func.count()).select_from(CaseFile)).scalar_one()
    for data, field in (({"applicant": "colleague"}, "applicant"), ({"reasons": " "}, "reasons")):
        with pytest.raises(ValidationFailed, match="§11") as err:
            apply(w, **data)
        assert err.value.errors[0]["field"] == field
    with w.rt.db.reading() as session:
        assert session.execute(select(func.count()).select_from(CaseFile)).scalar_one() == before


def test_skipping_verification_needs_a_reason(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    refused(
        w,
        case,
        "accept",
        {"acceptance": "accept", "verification": "skip"},
        "discipline.hf",
        rule="不开展调查核实的，须记录理由",
        field="skip_reason",
    )
    accept(w, case)
    assert [t.task_spec for t in w.tasks(case)] == ["analyse"]


def test_verification_runs_when_the_situation_requires(rt: Runtime) -> None:
    w = world(rt)
    case = apply(w)
    w.complete(case, "accept", {"acceptance": "accept", "verification": "verify"}, "discipline.hf")
    w.complete(
        case,
        "verify",
        {"verification_findings": "经走访核实，补救措施已落实", "verified_on": "2026-03-02"},
        "discipline2.hf",
    )
    assert [t.task_spec for t in w.tasks(case)] == ["analyse"]


# --- back to the accountability case, the record, finality ---------------------------


def _referred(w: World) -> tuple[CaseFile, CaseFile]:
    """An accountability case whose investigator started a tolerance review (§11 同步考虑)."""
    account = w.open(
        "accountability",
        data={"source": "audit", "facts": "园区项目审批程序不规范", "evidence": "审计报告"},
    )
    w.complete(account, "register", {}, "discipline.hf")
    w.complete(account, "consider_tolerance", {"consideration": "review"}, "discipline.hf")
    with w.rt.db.reading() as session:
        link = session.execute(
            select(CaseLink).where(CaseLink.from_case_id == account.id)
        ).scalar_one()
        return account, session.get(CaseFile, link.to_case_id)


def _task_data(w: World, case: CaseFile, element: str) -> dict[str, Any]:
    task = w.task(case, element)
    with w.rt.db.reading() as session:
        instance = session.get(Instance, task.instance_id)
        version = session.get(ProcessVersion, instance.process_version_id)
        run = engine.restore(
            versions.compiled_spec(version),
            instance.state,
            clock=w.rt.clock,
            functions=functions.bound(session, w.rt.clock),
        )
        return run.task_data(task.spiff_task_id)


def test_determination_flows_back_to_accountability(rt: Runtime) -> None:
    w = world(rt, "accountability")
    account, review = _referred(w)
    accept(w, review)
    analyse(w, review, conditions="unfavourable", procedure="unfavourable")
    determine(w, review, "reject")
    approve(w, review)
    w.complete(
        account,
        "investigate",
        {"findings": "负有直接责任", "responsibility": "direct"},
        "discipline.hf",
    )
    assert _task_data(w, account, "decide")["tolerance"] == {
        "outcome": "reject",
        "case_number": review.number,
    }


def test_referral_is_answered_by_a_determination_not_a_refusal(rt: Runtime) -> None:
    w = world(rt, "accountability")
    _, review = _referred(w)
    refused(
        w,
        review,
        "accept",
        {"acceptance": "refuse", "refuse_reason": "不属于改革创新中的失误"},
        "discipline.hf",
        rule="不符合容错情形的，认定不予容错",
        field="acceptance",
    )


def test_tolerance_is_noted_on_cadre_record(rt: Runtime) -> None:
    w = world(rt)
    exempted, mitigated, rejected = (
        determined(w, "exempt"),
        determined(w, "mitigate", recovery="unfavourable"),
        determined(w, "reject", motive="unfavourable"),
    )
    for case in (exempted, mitigated):
        approve(
            w,
            case,
            rectification_requirements="完善制度并报送整改报告",
            rectification_deadline="2026-05-29",
        )
    approve(w, rejected)
    with w.rt.db.reading() as session:
        notes = tolerance.tolerance_notes(session, cadre_id=w.cadres["zhang"])
        assert tolerance.tolerance_notes(session, cadre_id=w.cadres["li"]) == []
    assert [(n.case_number, n.outcome_name, str(n.decided_on)) for n in notes] == [
        (exempted.number, "免责", "2026-03-02"),
        (mitigated.number, "从轻或减轻处理", "2026-03-02"),
    ]


def test_determination_becomes_final_after_appeal_window(rt: Runtime) -> None:
    w = world(rt)
    case = determined(w, "reject", nature="unfavourable")
    approve(w, case)
    set_clock(rt, "2026-03-04 10:00")
    refused(
        w,
        case,
        "notify",
        {"received_on": "2026-03-05"},
        "discipline.hf",
        rule="不能晚于今天",
        field="received_on",
    )
    w.complete(case, "notify", {"received_on": "2026-03-03"}, "discipline.hf")
    assert w.case(case.id).received_on.isoformat() == "2026-03-03"
    set_clock(rt, "2026-04-03 23:59")  # the window ends with 2026-04-03 (1 month from receipt)
    timers.sweep(rt.db, clock=rt.clock)
    assert w.case(case.id).status == "decided"
    set_clock(rt, "2026-04-04 00:01")
    timers.sweep(rt.db, clock=rt.clock)
    final = w.case(case.id)
    assert (final.status, final.outcome, final.closed_at is not None) == ("final", "reject", True)
    with w.rt.db.reading() as session:
        assert session.get(Instance, final.instance_id).status == "completed"
        assert (
            session.execute(
                select(HumanTask).where(
                    HumanTask.instance_id == final.instance_id, HumanTask.state == "open"
                )
            ).first()
            is None
        )
