"""Tolerance and exemption review 容错免责 (DOMAIN.md §2.2; source §10, §11, §12).

The actions of bpmn/tolerance_review.bpmn: accepting an application or a referral from
an accountability case, the six-element analysis and its recommendation (the decision
table bpmn/decisions/six_elements.dmn), the determination with its red line, the
committee's approval (which records the decision, orders rectification and reports back
to the accountability case), notification and the determination becoming final.

The red line of §10 is checked against the stored analysis, never against submitted
form data: a violation of discipline or law (性质程度) or private gain (动机态度) is
never exempted or mitigated, whatever reasons are given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases import service as cases
from workflows.cases.models import CaseFile, Decision, SixElementAnalysis
from workflows.cases.service import refuse as _refuse
from workflows.engine import effects, hooks, instances
from workflows.engine.calendar import add_months
from workflows.engine.clock import Clock
from workflows.errors import Conflict
from workflows.messages import t

#: (key, 要件, favourable pole, unfavourable pole) — DOMAIN.md §2.2 step 4, source §11.
ELEMENTS: tuple[tuple[str, str, str, str], ...] = (
    ("motive", "动机态度", "出以公心", "缘于私利"),
    ("conditions", "客观条件", "难以预见的因素", "胡干蛮干"),
    ("procedure", "程序方法", "科学决策、民主决策、依法决策", "个人专断、一意孤行"),
    ("nature", "性质程度", "一般性失误错误", "违纪违法行为"),
    ("consequences", "后果影响", "事态整体可控", "影响恶劣"),
    ("recovery", "挽回损失", "主动采取补救措施", "置之不理、放任不管造成重大损失"),
)
#: 三个区分开来 (§10); "yes" is the tolerable side, "no" the 违纪违法行为 side.
DISTINCTIONS: tuple[tuple[str, str], ...] = (
    ("distinction_pioneering", "缺乏经验、先行先试的失误错误与明知故犯的违纪违法行为"),
    ("distinction_exploratory", "尚无明确限制的探索性试验与明令禁止后依然我行我素"),
    ("distinction_unintentional", "推动发展的无意过失与谋取私利的违纪违法行为"),
)
POLES = ("favourable", "unfavourable")
OPINIONS = ("exempt", "mitigate", "reject")
OUTCOME_NAMES = {
    "exempt": "免责",
    "mitigate": "从轻或减轻处理",
    "reject": "不予容错",
    "not_accepted": "不予受理",
}
GRANTED = ("exempt", "mitigate")  # outcomes that are a tolerance and need rectification (§12)
ORIGINS = ("accountability", "application")
APPLICANTS = {"unit": "所在单位", "cadre": "干部本人"}
MESSAGE = "tolerance_determined"  # the accountability process's message catch event


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    return value.strip() if isinstance(value, str) else ""


# --- start: the application or the referral -------------------------------------------


@hooks.automatic("tolerance.open")
def open_review(context: hooks.ActionContext) -> None:
    """Checks the start data (an application or a referral) and links a referral to its case."""
    data, session = context.data, context.session
    case = cases.of_context(context)
    if case.cadre_id is None:
        raise _refuse(t("容错免责须针对干部管理权限内的具体干部"), "cadre_id")
    origin = data.get("origin")
    if origin not in ORIGINS:
        raise _refuse(
            t(
                "§11 容错免责由问责程序同步启动或由单位、本人提出免责申请：origin 须为 accountability 或 application"
            ),
            "origin",
        )
    if origin == "application":
        refusals = cases.Refusals()
        if data.get("applicant") not in APPLICANTS:
            refusals.add(
                "§11 单位或本人可按干部管理权限提出免责申请：申请人须为所在单位或干部本人",
                "applicant",
            )
        if not _text(data, "reasons"):
            refusals.add("§11 免责申请须说明申请理由", "reasons")
        if not _text(data, "facts"):
            refusals.add("§11 免责申请须写明失误错误的事实", "facts")
        refusals.check()
    else:
        source = _accountability_case(session, data.get("accountability_case_id"))
        if source.cadre_id != case.cadre_id:
            raise _refuse(
                t("§11 容错情形须与问责案件 %(number)s 针对同一干部", number=source.number),
                "accountability_case_id",
            )
        if not any(other.id == source.id for _, _, other in cases.linked(session, case.id)):
            cases.link(
                session,
                from_case_id=source.id,
                to_case_id=case.id,
                kind="tolerance",
                clock=context.clock,
            )
    if case.source is None:
        case.source = origin if origin == "accountability" else f"application:{data['applicant']}"


def _accountability_case(session: Session, case_id: Any) -> CaseFile:
    if isinstance(case_id, bool) or not isinstance(case_id, int):
        raise _refuse(t("§11 问责程序中同步启动的容错审查须指明问责案件"), "accountability_case_id")
    source = session.get(CaseFile, case_id)
    if source is None or source.kind != "accountability":
        raise _refuse(t("问责案件 %(case_id)s 不存在", case_id=case_id), "accountability_case_id")
    return source


# --- 受理 and 调查核实 ----------------------------------------------------------------


@hooks.on_complete("tolerance.accept")
def accept(context: hooks.ActionContext) -> None:
    """受理 an application or refuse it with the reason; an accepted review says whether it
    verifies (the reasons each choice needs are the form's rules)."""
    data, case = context.data, cases.of_context(context)
    if data.get("acceptance") == "refuse":
        if data.get("origin") == "accountability":
            # The accountability case waits for a determination; out of scope is a reasoned 不予容错.
            raise _refuse(
                t(
                    "§11 问责程序中同步考虑容错情形的，须提出认定意见：不符合容错情形的，认定不"
                    "予容错并予以说明，不作不予受理"
                ),
                "acceptance",
            )
        case.status, case.outcome, case.closed_at = "closed", "not_accepted", context.clock.now()
        return
    data["accepted_on"] = context.clock.today().isoformat()


# --- 六个要件综合分析 and the recommendation ---------------------------------------------


@hooks.automatic("tolerance.record_analysis")
def record_analysis(context: hooks.ActionContext) -> None:
    """Records the six-element analysis with the decision table's recommendation."""
    data = context.data
    recommendation = data.get("recommendation")
    if recommendation not in OPINIONS:
        raise _refuse(
            t("六个要件决策表没有给出建议（exempt、mitigate 或 reject）：请流程设计人员检查决策表"),
            "recommendation",
        )
    context.session.add(
        SixElementAnalysis(
            case_id=int(data["case_id"]),
            elements=json.dumps(
                {
                    key: {"pole": data[key], "reason": _text(data, f"{key}_reason")}
                    for key, *_ in ELEMENTS
                },
                ensure_ascii=False,
            ),
            distinctions=json.dumps(
                {
                    key: {"answer": data[key], "note": _text(data, f"{key}_note")}
                    for key, _ in DISTINCTIONS
                },
                ensure_ascii=False,
            ),
            recommendation=recommendation,
            analysed_by=context.actor,
            recorded_at=context.clock.now(),
        )
    )
    context.session.flush()


def latest_analysis(session: Session, case_id: int) -> SixElementAnalysis | None:
    """The case's most recent six-element analysis."""
    return session.execute(
        select(SixElementAnalysis)
        .where(SixElementAnalysis.case_id == case_id, effects.in_force(SixElementAnalysis))
        .order_by(SixElementAnalysis.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def _red_line(analysis: SixElementAnalysis, opinion: str) -> None:
    """§10: a violation of discipline or law, or private gain, is never tolerated."""
    if opinion not in GRANTED:
        return
    poles = {key: value["pole"] for key, value in json.loads(analysis.elements).items()}
    if poles.get("nature") == "unfavourable":
        raise _refuse(
            t(
                "§10 对违纪违法行为必须严肃查处，确保容错在纪律红线、法律底线内进行：性质程度为"
                "违纪违法行为，不得免责或从轻、减轻处理"
            ),
            "opinion",
        )
    if poles.get("motive") == "unfavourable":
        raise _refuse(
            t(
                "§10 把为推动发展的无意过失同为谋取私利的违纪违法行为区分开来：动机缘于私利，不得免责或从轻、减轻处理"
            ),
            "opinion",
        )


# --- 认定意见 and 审批 ------------------------------------------------------------------


@hooks.on_complete("tolerance.determine")
def determine(context: hooks.ActionContext) -> None:
    """认定意见 with its reason; the red line; a departure from the recommendation needs a reason."""
    data = context.data
    analysis = latest_analysis(context.session, int(data["case_id"]))
    if analysis is None:
        raise _refuse(t("§11 须先结合六个要件进行综合分析，再提出认定意见"), "opinion")
    opinion = data.get("opinion")
    if opinion not in OPINIONS:
        raise _refuse(t("认定意见须为免责、从轻或减轻处理、不予容错之一"), "opinion")
    _red_line(analysis, opinion)
    recommended = analysis.recommendation
    if opinion != recommended and not _text(data, "departure_reason"):
        raise _refuse(
            t(
                "§11 认定意见「%(opinion)s」与六个要件分析建议「%(recommended)s」不一致，须说明理由",
                opinion=OUTCOME_NAMES[opinion],
                recommended=OUTCOME_NAMES[recommended],
            ),
            "departure_reason",
        )
    data["recommendation"] = recommended  # the stored one, whatever a form echoed back
    if opinion == recommended:
        data["departure_reason"] = None


@hooks.on_complete("tolerance.approve")
def approve(context: hooks.ActionContext) -> None:
    """审批: records the decision, orders rectification (§12) and reports to the accountability case."""
    data, session, clock = context.data, context.session, context.clock
    if data.get("approval") == "return":  # its reason: the form's rule
        return
    case = cases.of_context(context)
    analysis = latest_analysis(session, case.id)
    opinion = data.get("opinion")
    if analysis is None or opinion not in OPINIONS:
        raise _refuse(t("没有可审批的认定意见"), "approval")
    _red_line(analysis, opinion)
    today = clock.today()
    deadline = None
    if opinion in GRANTED:  # the opinion is the process's, not the form's: checked here
        deadline = _rectification_order(data, today)
    decision = Decision(
        case_id=case.id,
        kind="tolerance",
        outcome=opinion,
        reason=_text(data, "opinion_reason"),
        recommendation=analysis.recommendation,
        departure_reason=data.get("departure_reason") or None,
        decided_on=today,
        decided_by=context.actor,
        recorded_at=clock.now(),
    )
    session.add(decision)
    session.flush()
    case.status, case.outcome = "decided", opinion
    data.update(
        decision_id=decision.id, decided_on=today.isoformat(), outcome_name=OUTCOME_NAMES[opinion]
    )
    if deadline is not None:
        rectification = cases.open_case(
            session,
            kind="rectification",
            subject=cases.Subject(cadre_id=case.cadre_id),
            title=f"纠错整改（{case.number} 容错免责决定）",
            data={
                "requirements": _text(data, "rectification_requirements"),
                "deadline": deadline.isoformat(),
                "basis": "tolerance",
                "issued_by": context.actor,
            },
            actor=context.actor,
            clock=clock,
            source="tolerance",
            links=[(case.id, "rectification")],
        )
        data["rectification_case_number"] = rectification.number
    if data.get("origin") == "accountability":
        deliver_determination(
            session,
            accountability_case_id=data["accountability_case_id"],
            outcome=opinion,
            case_number=case.number,
            actor=context.actor,
            clock=clock,
        )


def _rectification_order(data: dict[str, Any], today: date) -> date:
    """§12 纠错要求 and 限期整改 of a granted tolerance: both refused together when missing;
    returns the deadline."""
    refusals = cases.Refusals()
    if not _text(data, "rectification_requirements"):
        refusals.add(
            "§12 作出容错免责决定时，要提出纠错要求：须填写纠错整改要求",
            "rectification_requirements",
        )
    deadline = None
    if not data.get("rectification_deadline"):
        refusals.add(
            "§12 作出容错免责决定时，要责令限期整改：须确定整改期限", "rectification_deadline"
        )
    else:
        deadline = cases.parse_date(data["rectification_deadline"], "rectification_deadline")
        if deadline < today:
            refusals.add(
                t(
                    "§12 责令限期整改：整改期限 %(deadline)s 已过（今天是 %(today)s）",
                    deadline=deadline,
                    today=today,
                ),
                "rectification_deadline",
            )
    refusals.check()
    assert deadline is not None
    return deadline


def deliver_determination(
    session: Session,
    *,
    accountability_case_id: int,
    outcome: str,
    case_number: str,
    actor: str,
    clock: Clock,
) -> None:
    """Hands the determination to the accountability case waiting at `tolerance_determined`.

    Refuses (rolling everything back) when that case does not wait for it: a determination
    must never be lost on its way back (§11 同步考虑是否存在容错情形)."""
    target = _accountability_case(session, accountability_case_id)
    if target.instance_id is None:
        raise Conflict(
            t("问责案件 %(number)s 没有流程实例，认定结果无法送回", number=target.number)
        )
    locked = instances.lock_instance(session, target.instance_id)
    delivered: list[bool] = []
    payload = {"outcome": outcome, "case_number": case_number}
    instances.advance(
        session,
        instance=locked,
        clock=clock,
        step=instances.Step(
            action="message.deliver",
            actor=actor,
            detail={"message": MESSAGE, **payload},
            apply=lambda run: delivered.append(run.deliver_message(MESSAGE, payload)),
        ),
    )
    if not delivered[0]:
        raise Conflict(
            t(
                "问责案件 %(number)s 当前未在等待容错认定结果，认定结果无法送回",
                number=target.number,
            )
        )


# --- 送达 and the appeal window ---------------------------------------------------------


@hooks.on_complete("tolerance.notify")
def notify(context: hooks.ActionContext) -> None:
    """送达: the date of receipt starts the appeal window."""
    data, case = context.data, cases.of_context(context)
    received_on = cases.parse_date(data.get("received_on"), "received_on")
    decided_on = date.fromisoformat(data["decided_on"])
    if received_on < decided_on:
        raise _refuse(
            t(
                "送达日期 %(received_on)s 不能早于决定日期 %(decided_on)s",
                received_on=received_on,
                decided_on=decided_on,
            ),
            "received_on",
        )
    case.received_on = received_on
    data["appeal_window_ends_on"] = add_months(
        received_on, int(data["appeal_window_months"])
    ).isoformat()


@hooks.automatic("tolerance.finalize")
def finalize(context: hooks.ActionContext) -> None:
    """The appeal window has passed: the determination is final and the review closed.

    An appeal filed in time never held it up; its outcome corrects the decision row
    (effective → modified/revoked, a new row correcting it), as for accountability."""
    case = cases.of_context(context)
    if case.status == "decided":
        case.status = "final"
    case.closed_at = context.clock.now()


# --- the cadre record (§12 考核考察要客观评价，选拔任用要公正合理) ---------------------------


@dataclass(frozen=True)
class ToleranceNote:
    """One tolerance on the cadre's record: which case, what was granted, when, whether final."""

    case_number: str
    outcome: str
    outcome_name: str
    decided_on: date
    final: bool


def tolerance_notes(session: Session, *, cadre_id: int) -> list[ToleranceNote]:
    """The cadre's effective tolerance decisions (免责、从轻或减轻), oldest first."""
    rows = session.execute(
        select(Decision, CaseFile)
        .join(CaseFile, CaseFile.id == Decision.case_id)
        .where(
            CaseFile.cadre_id == cadre_id,
            Decision.kind == "tolerance",
            Decision.outcome.in_(GRANTED),
            Decision.effective == "effective",
        )
        .order_by(Decision.decided_on, Decision.id)
    ).all()
    return [
        ToleranceNote(
            case.number,
            decision.outcome,
            OUTCOME_NAMES[decision.outcome],
            decision.decided_on,
            case.status == "final",
        )
        for decision, case in rows
    ]
