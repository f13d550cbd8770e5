"""Accountability 问责 (DOMAIN.md §2.1; source §6, §9, §11, §12): the actions of bpmn/accountability.bpmn.

The process: a finding is checked and registered (立案); the investigation (责任调查, its
time limit counted from the registration date; overdue, it stays with its investigator)
and the tolerance consideration (同步考虑容错情形, due with it) run side by side; the
committee decides (问责决定); the decision is served (送达) and becomes final when the
appeal window (`appeal_window_months` from receipt) passes, while it is already
executed (申诉期间不停止执行); after an organizational adjustment the cadre's work is
arranged (妥善安排工作). Every action refuses bad input with the rule it breaks.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cadres import service as cadres
from workflows.cases import service as cases
from workflows.cases.models import CaseFile, Decision
from workflows.cases.service import refuse as _refuse
from workflows.engine import hooks
from workflows.engine.calendar import add_months
from workflows.engine.clock import Clock
from workflows.messages import t

SOURCES = {
    "inspection_tour": "巡视巡察",
    "environmental_inspection": "环保督查",
    "audit": "审计",
    "assessment": "考核",
    "petition": "信访举报",
    "failed_rectification": "整改不力",
    "false_accusation": "诬告陷害查处",
}
OUTCOMES = {
    "none": "不予问责",
    "adjustment": "组织调整",
    "lighter": "从轻减轻处理",
    "admonishment": "约谈",
}
DETERMINATIONS = {"exempt": "免责", "mitigate": "从轻或减轻处理", "reject": "不予容错"}
APPLICANTS = {"unit": "所在单位", "cadre": "干部本人"}
#: The link from an accountability case to each tolerance review it gave rise to.
REVIEW_LINK = "tolerance_review"


def _text(data: dict[str, Any], field: str) -> str:
    value = data.get(field)
    return value.strip() if isinstance(value, str) else ""


def _day(data: dict[str, Any], field: str) -> date:
    return cases.parse_date(data.get(field), field)


def _not_future(day: date, field: str, label: str, clock: Clock) -> None:
    if day > clock.today():
        raise _refuse(
            t(
                "%(label)s不得晚于今天（%(today)s）：所填为 %(day)s",
                label=label,
                today=clock.today(),
                day=day,
            ),
            field,
        )


def _check_finding(data: dict[str, Any], clock: Clock) -> str:
    """The source, facts and evidence a case is registered on (§6); returns the source."""
    source = data.get("source")
    if source not in SOURCES:
        raise _refuse(
            t("§6 问责线索须注明来源：%(source)r 不是已知来源", source=source),
            "source",
            "、".join(f"{key} {name}" for key, name in SOURCES.items()),
        )
    if not _text(data, "facts"):
        raise _refuse(t("§6 立案须写明问题事实"), "facts")
    if not _text(data, "evidence"):
        raise _refuse(t("§6 立案须载明证据材料"), "evidence")
    if data.get("registered_on"):
        _not_future(_day(data, "registered_on"), "registered_on", "立案日期", clock)
    return str(source)


@hooks.automatic("accountability_check_start")
def check_start(context: hooks.ActionContext) -> None:
    """Refuses to open a case whose source, facts or evidence is missing or unknown; a
    立案日期 given with the finding is the case's."""
    case = cases.of_context(context)
    case.source = _check_finding(context.data, context.clock)
    if context.data.get("registered_on"):
        case.registered_on = _day(context.data, "registered_on")


@hooks.on_complete("accountability_register")
def register(context: hooks.ActionContext) -> None:
    """立案: confirms the finding and fixes the registration date the deadline counts from."""
    data = context.data
    case = cases.of_context(context)
    case.source = _check_finding(data, context.clock)
    registered_on = (
        _day(data, "registered_on") if data.get("registered_on") else _day(data, "opened_on")
    )
    data["registered_on"] = registered_on.isoformat()
    case.registered_on = registered_on


@hooks.on_complete("accountability_escalate")
def escalate(context: hooks.ActionContext) -> None:
    """督办 as a step of versions before time limits (the current process has none: a 督办 is
    a record on the overdue step): the supervisor sets the investigation's new limit."""
    data = context.data
    if not _text(data, "urging"):
        raise _refuse(t("§20 督办须写明督办意见"), "urging")
    new_due = _day(data, "new_due_on")
    if new_due < context.clock.today():
        raise _refuse(
            t(
                "§20 督办限期不得早于今天（%(today)s）：所填为 %(new_due)s",
                today=context.clock.today(),
                new_due=new_due,
            ),
            "new_due_on",
        )
    data["investigation_due_on"] = new_due.isoformat()
    data["escalations"] = int(data.get("escalations") or 0) + 1


def _open_review(
    session: Session, case: CaseFile, *, data: dict[str, Any], actor: str, clock: Clock
) -> CaseFile:
    if case.cadre_id is None:
        raise _refuse(t("§11 容错免责只适用于在册干部：本案当事人不是在册干部"), "subject")
    return cases.open_case(
        session,
        kind="tolerance_review",
        subject=cases.Subject(cadre_id=case.cadre_id),
        title=f"容错免责审查（{case.number}）",
        actor=actor,
        clock=clock,
        data={"accountability_case_id": case.id, "accountability_case_number": case.number, **data},
        links=[(case.id, REVIEW_LINK)],
    )


@hooks.on_complete("accountability_consider_tolerance")
def consider_tolerance(context: hooks.ActionContext) -> None:
    """§11 同步考虑容错情形: none (with reasons) or a linked tolerance review."""
    data = context.data
    case = cases.of_context(context)
    if data.get("consideration") == "none":  # its reason: the form's rule
        data["tolerance"] = {"outcome": "none", "reason": _text(data, "no_tolerance_reason")}
        return
    review = _open_review(
        context.session,
        case,
        actor=context.actor,
        clock=context.clock,
        data={"origin": "accountability", "facts": _text(data, "facts")},
    )
    data["tolerance_case_id"], data["tolerance_case_number"] = review.id, review.number


@hooks.automatic("accountability_record_tolerance")
def record_tolerance(context: hooks.ActionContext) -> None:
    """Checks the determination the tolerance review sent back (message `tolerance_determined`)."""
    payload = context.data.get("tolerance")
    if not isinstance(payload, dict) or payload.get("outcome") not in DETERMINATIONS:
        raise _refuse(
            t(
                "§11 容错认定意见须为免责、从轻或减轻处理或不予容错：收到 %(payload)r",
                payload=payload,
            ),
            "tolerance.outcome",
        )


def _latest_determination(session: Session, review: CaseFile) -> Decision | None:
    return session.execute(
        select(Decision)
        .where(
            Decision.case_id == review.id,
            Decision.kind == "tolerance",
            Decision.effective == "effective",
            Decision.outcome.in_(list(DETERMINATIONS)),
        )
        .order_by(Decision.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def determination(session: Session, case: CaseFile, data: dict[str, Any]) -> tuple[str, str | None]:
    """The tolerance determination the decision must respect: (outcome, review case number).

    The latest approved determination of any linked review counts (an exemption
    application may follow the investigator's review); else the message the review sent
    back, or 'none' when the investigator found no tolerance circumstances. A linked
    review still without a determination holds the decision up (§11)."""
    sent = data.get("tolerance")
    message: dict[str, Any] = sent if isinstance(sent, dict) else {}
    latest: tuple[int, str, str] | None = None
    for direction, _link, other in cases.linked(session, case.id):
        if direction != "to" or other.kind != "tolerance_review":
            continue
        found = _latest_determination(session, other)
        if found is not None:
            if latest is None or found.id > latest[0]:
                latest = (found.id, found.outcome, other.number)
        elif other.status == "open" and message.get("case_number") != other.number:
            raise _refuse(
                t(
                    "§11 容错审查 %(number)s 尚未作出认定：问责决定须待认定意见作出后再作",
                    number=other.number,
                ),
                "outcome",
            )
    if latest is not None:
        return latest[1], latest[2]
    if message.get("outcome") in DETERMINATIONS:
        return str(message["outcome"]), message.get("case_number")
    return "none", None


@hooks.on_complete("accountability_decide")
def decide(context: hooks.ActionContext) -> None:
    """问责决定: records the decision and, for an adjustment, the promotion ban (§6).

    The form's rules come first (a known outcome, a reason, an adjustment exactly when the
    outcome is 组织调整, a date not after today); the rules here need the case and are
    refused together."""
    data, session = context.data, context.session
    case = cases.of_context(context)
    outcome, reason = data["outcome"], _text(data, "reason")
    adjustment = data.get("adjustment")
    decided_on = _day(data, "decided_on")
    registered_on = _day(data, "registered_on")
    refusals = cases.Refusals()
    if decided_on < registered_on:
        refusals.add(
            t(
                "决定日期不得早于立案日期 %(registered_on)s：所填为 %(decided_on)s",
                registered_on=registered_on,
                decided_on=decided_on,
            ),
            "decided_on",
        )
    found, review_number = determination(session, case, data)
    if found == "exempt" and outcome != "none":
        refusals.add(
            t(
                "§11 容错认定为免责（%(review_number)s）：只能作出不予问责的决定",
                review_number=review_number,
            ),
            "outcome",
        )
    elif outcome == "lighter" and found != "mitigate":
        refusals.add(
            t(
                "§11 从轻或减轻处理须以容错认定“从轻或减轻处理”为前提：本案容错认定为%(determination)s",
                determination=DETERMINATIONS.get(found, "不存在容错情形"),
            ),
            "outcome",
        )
    elif outcome == "adjustment" and case.cadre_id is None:
        refusals.add("§6 组织调整只适用于在册干部：本案当事人不是在册干部", "outcome")
    refusals.check()
    decision = Decision(
        case_id=case.id,
        kind="accountability",
        outcome=outcome,
        adjustment=adjustment,
        reason=reason,
        decided_on=decided_on,
        decided_by=context.actor,
        recorded_at=context.clock.now(),
    )
    session.add(decision)
    session.flush()
    if adjustment is not None:
        assert case.cadre_id is not None
        ban = cadres.add_ban(
            session,
            cadre_id=case.cadre_id,
            case_id=case.id,
            decision_id=decision.id,
            adjustment=adjustment,
            decided_on=decided_on,
        )
        data["ban_ends_on"] = ban.ends_on.isoformat()
    case.status, case.outcome = "decided", adjustment or outcome
    data.update(
        decision_id=decision.id,
        decided_on=decided_on.isoformat(),
        adjustment=adjustment,
        tolerance_determination=found,
    )


@hooks.on_complete("accountability_notify")
def notify(context: hooks.ActionContext) -> None:
    """送达: records the date the cadre received the decision; the appeal window counts from it."""
    data = context.data
    received_on = _day(data, "received_on")
    decided_on = _day(data, "decided_on")
    if received_on < decided_on:
        raise _refuse(
            t(
                "送达日期不得早于决定日期 %(decided_on)s：所填为 %(received_on)s",
                decided_on=decided_on,
                received_on=received_on,
            ),
            "received_on",
        )
    cases.of_context(context).received_on = received_on
    data["received_on"] = received_on.isoformat()
    data["appeal_window_ends_on"] = add_months(
        received_on, int(data["appeal_window_months"])
    ).isoformat()


@hooks.automatic("accountability_finalize")
def finalize(context: hooks.ActionContext) -> None:
    """The appeal window has passed: the decision is final (an appeal never stopped it)."""
    case = cases.of_context(context)
    if case.status == "decided":  # an appeal outcome may already have changed the case
        case.status = "final"


@hooks.on_complete("accountability_arrange_work")
def arrange_work(context: hooks.ActionContext) -> None:
    """§6 妥善做好被问责干部的工作安排: what was arranged and when."""
    data = context.data
    arranged_on = _day(data, "arranged_on")
    if arranged_on < _day(data, "decided_on"):
        raise _refuse(
            t(
                "安排日期不得早于决定日期 %(decided_on)s：所填为 %(arranged_on)s",
                decided_on=data["decided_on"],
                arranged_on=arranged_on,
            ),
            "arranged_on",
        )


@hooks.automatic("accountability_close")
def close(context: hooks.ActionContext) -> None:
    """结案."""
    case = cases.of_context(context)
    case.status, case.closed_at = "closed", context.clock.now()


def _facts(session: Session, case: CaseFile, clock: Clock) -> str:
    """The registered facts, read from the running process (open tasks and timers carry them)."""
    facts = cases.waiting_data(session, case, clock).get("facts")
    return facts.strip() if isinstance(facts, str) else ""


def exemption_closed(case: CaseFile) -> str | None:
    """Why `case` takes no exemption application now (§11: only an accountability case, while
    it is open), or None when it does."""
    if case.kind != "accountability":
        return t("§11 免责申请针对问责案件：%(number)s 不是问责案件", number=case.number)
    if case.status != "open":
        return t(
            "§11 免责申请须在问责案件办理期间提出：%(number)s 已作出决定（%(status)s）",
            number=case.number,
            status=case.status,
        )
    return None


def apply_for_exemption(
    session: Session,
    *,
    case_id: int,
    applicant: str,
    reasons: str,
    actor: str,
    clock: Clock,
    facts: str | None = None,
) -> CaseFile:
    """§11 免责申请 by the unit or the cadre while the case is open: a linked tolerance review.

    The review's facts are those given, else the facts the case was registered on."""
    case = cases.get(session, case_id)
    closed = exemption_closed(case)
    if closed is not None:
        raise _refuse(closed, "case_id")
    if applicant not in APPLICANTS:
        raise _refuse(
            t("§11 免责申请由所在单位或干部本人提出"),
            "applicant",
            t("unit 所在单位、cadre 干部本人"),
        )
    if not (reasons or "").strip():
        raise _refuse(t("§11 免责申请须写明理由"), "reasons")
    stated = (
        (facts or "").strip()
        or _facts(session, case, clock)
        or f"见问责案件 {case.number}：{case.title}"
    )
    return _open_review(
        session,
        case,
        actor=actor,
        clock=clock,
        data={
            "origin": "application",
            "applicant": applicant,
            "reasons": reasons.strip(),
            "facts": stated,
        },
    )
