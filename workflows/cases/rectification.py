"""Rectification 纠错整改 (DOMAIN.md §2.4; source §12): the actions of bpmn/rectification.bpmn.

A case is opened with `requirements`, a `deadline` chosen by the decider, its `basis`
(a tolerance decision, an accountability decision, or an early correction under the
"first form" 第一种形态) and `issued_by`. The issuing department confirms the
requirements (责令限期整改); the unit reports a plan and progress until a completion
report, reminded (a notification) five working days before the deadline
and, past it, the case is overdue and escalated to the supervisor. Verification (验收)
closes the case, returns it for further rectification with a new deadline, or — for
ineffective or refused rectification (整改不力、拒不整改) — opens a linked accountability
case. Requirements and verification rounds are rows that are never changed.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from workflows.cases import service as cases
from workflows.cases.models import CaseFile, RectificationRequirement, VerificationRound
from workflows.cases.service import refuse as _refuse
from workflows.engine import effects, hooks
from workflows.engine.clock import Clock
from workflows.messages import t
from workflows.org import people

BASES = {
    "tolerance": "容错免责决定",
    "accountability": "问责决定",
    "first_form": "第一种形态（咬耳扯袖、红脸出汗）",
}
RESULTS = {
    "accepted": "通过",
    "returned": "退回补充整改",
    "ineffective": "整改不力",
    "refused": "拒不整改",
}
FAILED = ("ineffective", "refused")
#: The link from a rectification case to the accountability case its failure opened.
ACCOUNTABILITY_LINK = "accountability"


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    return value.strip() if isinstance(value, str) else ""


def check_deadline(data: dict[str, Any], field: str, clock: Clock) -> date:
    """The deadline in `data[field]`; ValidationFailed naming the field if it is not a date or
    already past (§12 责令限期整改)."""
    deadline = cases.parse_date(data.get(field), field)
    if deadline < clock.today():
        raise _refuse(
            t(
                "§12 责令限期整改：整改期限 %(deadline)s 已过（今天是 %(today)s）",
                deadline=deadline,
                today=clock.today(),
            ),
            field,
        )
    return deadline


def latest_requirement(session: Session, case_id: int) -> RectificationRequirement | None:
    """The requirement in force: the latest issued (a return for further rectification adds one)."""
    return session.execute(
        select(RectificationRequirement)
        .where(
            RectificationRequirement.case_id == case_id, effects.in_force(RectificationRequirement)
        )
        .order_by(RectificationRequirement.id.desc())
        .limit(1)
    ).scalar_one_or_none()


@hooks.automatic("rectification_check_start")
def check_start(context: hooks.ActionContext) -> None:
    """Refuses to open a rectification without a known basis (§12)."""
    basis = context.data.get("basis")
    if basis not in BASES:
        raise _refuse(
            t(
                "§12 纠错整改须注明依据：%(basis)r 不是%(choices)s之一",
                basis=basis,
                choices="、".join(BASES.values()),
            ),
            "basis",
        )
    cases.of_context(context).source = str(basis)


@hooks.on_complete("rectification_issue")
def issue(context: hooks.ActionContext) -> None:
    """责令限期整改: requirements and a deadline not in the past, recorded; a plan is due."""
    data, clock = context.data, context.clock
    case = cases.of_context(context)
    requirements = _text(data, "requirements")
    if not requirements:
        raise _refuse(t("§12 须提出纠错要求"), "requirements")
    deadline = check_deadline(data, "deadline", clock)
    context.session.add(
        RectificationRequirement(
            case_id=case.id,
            requirements=requirements,
            deadline=deadline,
            issued_by=_text(data, "issued_by") or context.actor,
            issued_on=clock.today(),
        )
    )
    case.status = "open"
    data.update(
        requirements=requirements,
        deadline=deadline.isoformat(),
        issued_on=clock.today().isoformat(),
        plan_required=True,
    )


@hooks.on_complete("rectification_report")
def report(context: hooks.ActionContext) -> None:
    """整改进展: a completion report ends the reporting and awaits verification."""
    if context.data.get("report_type") == "completion":
        cases.of_context(context).status = "verifying"


@hooks.automatic("rectification_overdue")
def overdue(context: hooks.ActionContext) -> None:
    """The deadline passed without a completion report: the case is overdue (督办 follows)."""
    case = cases.of_context(context)
    if case.status == "open":
        case.status = "overdue"


@hooks.on_complete("rectification_verify")
def verify(context: hooks.ActionContext) -> None:
    """验收: one round recorded; accepted closes, returned sets a new deadline, failure opens accountability."""
    data, session, clock = context.data, context.session, context.clock
    case = cases.of_context(context)
    result = data["result"]  # a known one, with its note and new deadline: the form's rules
    note = _text(data, "verification_note")
    verified_on = cases.parse_date(data["verified_on"], "verified_on")
    done = session.execute(
        select(func.count())
        .select_from(VerificationRound)
        .where(VerificationRound.case_id == case.id, effects.in_force(VerificationRound))
    ).scalar_one()
    round_no = int(done) + 1
    new_deadline = check_deadline(data, "new_deadline", clock) if result == "returned" else None
    session.add(
        VerificationRound(
            case_id=case.id,
            round=round_no,
            result=result,
            note=note,
            verified_by=context.actor,
            verified_on=verified_on,
        )
    )
    data["verification_round"] = round_no
    if new_deadline is not None:
        requirement = latest_requirement(session, case.id)
        session.add(
            RectificationRequirement(
                case_id=case.id,
                requirements=f"{requirement.requirements if requirement else ''}\n"
                f"（第{round_no}轮验收退回补充整改）{note}".strip(),
                deadline=new_deadline,
                issued_by=context.actor,
                issued_on=clock.today(),
            )
        )
        case.status = "open"
        data.update(deadline=new_deadline.isoformat(), plan_required=False)
        return
    if result in FAILED:
        opened = _open_accountability(
            context, case, result=result, note=note, round_no=round_no, verified_on=verified_on
        )
        data.update(accountability_case_id=opened.id, accountability_case_number=opened.number)
    case.status, case.outcome, case.closed_at = "closed", result, clock.now()
    session.flush()


def _open_accountability(
    context: hooks.ActionContext,
    case: CaseFile,
    *,
    result: str,
    note: str,
    round_no: int,
    verified_on: date,
) -> CaseFile:
    """§12 对整改不力或拒不整改的，按照有关规定予以问责: a new accountability case linked from this one."""
    session = context.session
    requirement = latest_requirement(session, case.id)
    demanded = (
        f"整改要求（{requirement.issued_on} 签发，期限 {requirement.deadline}）：{requirement.requirements}"
        if requirement
        else ""
    )
    subject = (
        cases.Subject(cadre_id=case.cadre_id)
        if case.cadre_id is not None
        else cases.Subject(name=case.subject_name, org_unit_code=case.org_unit_code)
    )
    verifier = people.label(session, context.actor)
    return cases.open_case(
        session,
        kind="accountability",
        subject=subject,
        source="failed_rectification",
        title=f"{case.subject_name}{RESULTS[result]}问责（{case.number}）",
        actor=context.actor,
        clock=context.clock,
        links=[(case.id, ACCOUNTABILITY_LINK)],
        data={
            "source": "failed_rectification",
            "facts": f"纠错整改 {case.number} 经第{round_no}轮验收，结论为{RESULTS[result]}：{note}",
            "evidence": f"{demanded}；验收记录（{verified_on}，{verifier}）：{note}",
        },
    )
