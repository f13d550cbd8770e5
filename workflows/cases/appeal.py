"""Appeal 申诉 (DOMAIN.md §2.3; source §11; 《中国共产党问责条例》 art. 20): filing and the
actions of bpmn/appeal.bpmn.

A cadre appeals an accountability decision or a tolerance determination within
`appeal_window_months` calendar months of receiving it (`file_appeal`); the original
decision stays in force meanwhile (申诉期间不停止执行). The appeal is accepted and given a
reviewer who neither handled nor decided the original case (回避); only that reviewer
may review, within one month of receiving the appeal (问责条例 art. 20). Modifying or
revoking changes the original case's effective decision and its promotion bans by new
rows and status changes that name the appeal case — never by editing the old ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import textsearch
from workflows.cadres import service as cadres
from workflows.cadres.models import PromotionBan
from workflows.cases import service as cases
from workflows.cases.models import Appeal, CaseFile, Decision
from workflows.cases.service import refuse as _refuse
from workflows.engine import hooks
from workflows.engine.calendar import add_months
from workflows.engine.clock import Clock
from workflows.messages import t
from workflows.org.models import User
from workflows.roles import ROLES

#: Case kinds whose decisions may be appealed, and the kind of decision each records.
APPEALABLE = {"accountability": "accountability", "tolerance_review": "tolerance"}
OUTCOMES = {"uphold": "维持", "modify": "变更", "revoke": "撤销"}
#: What a modified decision may become, per decision kind (the deciding processes' vocabularies).
NEW_OUTCOMES = {
    "accountability": {
        "none": "不予问责",
        "adjustment": "组织调整",
        "lighter": "从轻减轻处理",
        "admonishment": "约谈",
    },
    "tolerance": {"exempt": "免责", "mitigate": "从轻或减轻处理", "reject": "不予容错"},
}
EFFECTS = {"modified": "变更", "revoked": "撤销"}
LINK_KIND = "appeal"


def _as_date(value: date | str, field: str) -> date:
    return value if isinstance(value, date) else cases.parse_date(value, field)


def effective_decision(session: Session, case: CaseFile) -> Decision | None:
    """The decision of an appealable case that is in force now (the latest effective one)."""
    kind = APPEALABLE.get(case.kind)
    if kind is None:
        return None
    return session.execute(
        select(Decision)
        .where(
            Decision.case_id == case.id, Decision.kind == kind, Decision.effective == "effective"
        )
        .order_by(Decision.id.desc())
        .limit(1)
    ).scalar_one_or_none()


@dataclass(frozen=True)
class AppealWindow:
    received_on: date
    ends_on: date  # the last day an appeal is accepted
    filed_as: str | None  # the number of the appeal already filed, if any


def appeal_window(session: Session, case: CaseFile) -> AppealWindow | None:
    """When the decision in force of `case` may be appealed (§11: within the window from its
    receipt, as `file_appeal` counts it) and any appeal already filed; None while there is
    nothing to appeal (not appealable, no decision in force, not yet received)."""
    if (
        case.kind not in APPEALABLE
        or case.received_on is None
        or effective_decision(session, case) is None
    ):
        return None
    months = cases.deadline_settings(session)["appeal_window_months"]
    filed_as = session.execute(
        select(CaseFile.number)
        .join(Appeal, Appeal.case_id == CaseFile.id)
        .where(Appeal.original_case_id == case.id)
        .limit(1)
    ).scalar_one_or_none()
    return AppealWindow(case.received_on, add_months(case.received_on, months), filed_as)


def file_appeal(
    session: Session,
    *,
    original_case_id: int,
    grounds: str,
    filed_on: date | str,
    actor: str,
    clock: Clock,
) -> CaseFile:
    """申诉: opens an appeal case linked to the original if filed in time; refuses otherwise, storing nothing."""
    original = cases.get(session, original_case_id)
    if original.kind not in APPEALABLE:
        raise _refuse(
            t(
                "§11 申诉针对问责决定或容错认定：%(number)s 是%(kind)s案件",
                number=original.number,
                kind=cases.KIND_NAMES[original.kind],
            ),
            "original_case_id",
        )
    decision = effective_decision(session, original)
    if decision is None:
        raise _refuse(
            t("§11 %(number)s 尚无生效的决定，无从申诉", number=original.number), "original_case_id"
        )
    if original.received_on is None:
        raise _refuse(
            t("§11 %(number)s 的决定尚未送达：申诉期自收到决定之日起计算", number=original.number),
            "original_case_id",
        )
    if not (grounds or "").strip():
        raise _refuse(t("§11 申诉须写明理由（对组织认定的不同意见）"), "grounds")
    filed = _as_date(filed_on, "filed_on")
    if filed > clock.today():
        raise _refuse(
            t(
                "申诉日期不得晚于今天（%(today)s）：所填为 %(filed)s",
                today=clock.today(),
                filed=filed,
            ),
            "filed_on",
        )
    if filed < original.received_on:
        raise _refuse(
            t(
                "申诉日期不得早于收到决定之日 %(received_on)s：所填为 %(filed)s",
                received_on=original.received_on,
                filed=filed,
            ),
            "filed_on",
        )
    months = cases.deadline_settings(session)["appeal_window_months"]
    window_ends = add_months(original.received_on, months)
    if filed > window_ends:
        raise _refuse(
            t(
                "§11 申诉须在收到决定之日起%(months)s个月内提出：申诉期已于 %(window_ends)s 届满",
                months=months,
                window_ends=window_ends,
            ),
            "filed_on",
        )
    earlier = session.execute(
        select(CaseFile.number)
        .join(Appeal, Appeal.case_id == CaseFile.id)
        .where(Appeal.original_case_id == original.id)
        .limit(1)
    ).scalar_one_or_none()
    if earlier is not None:
        raise _refuse(
            t(
                "§11 对 %(number)s 已提出申诉（%(earlier)s），不得重复申诉",
                number=original.number,
                earlier=earlier,
            ),
            "original_case_id",
        )
    _check_appellant(session, actor, original)
    subject = (
        cases.Subject(cadre_id=original.cadre_id)
        if original.cadre_id is not None
        else cases.Subject(name=original.subject_name, org_unit_code=original.org_unit_code)
    )
    case = cases.open_case(
        session,
        kind="appeal",
        subject=subject,
        title=f"{original.subject_name}对{original.number}的申诉",
        actor=actor,
        clock=clock,
        links=[(original.id, LINK_KIND)],
        data={
            "original_case_id": original.id,
            "original_case_number": original.number,
            "original_kind": original.kind,
            "decision_id": decision.id,
            "decision_outcome": decision.adjustment or decision.outcome,
            "grounds": grounds.strip(),
            "filed_on": filed.isoformat(),
            "received_on": filed.isoformat(),
            "window_ends_on": window_ends.isoformat(),
        },
    )
    session.add(
        Appeal(
            case_id=case.id,
            original_case_id=original.id,
            decision_id=decision.id,
            filed_on=filed,
            window_ends_on=window_ends,
            grounds=grounds.strip(),
        )
    )
    session.flush()
    return case


def _check_appellant(session: Session, actor: str, original: CaseFile) -> None:
    """A cadre user appeals only their own case; clerks may file on a cadre's written appeal."""
    user = session.execute(select(User).where(User.username == actor)).scalar_one_or_none()
    if user is not None and user.role == "cadre" and user.cadre_id != original.cadre_id:
        raise _refuse(
            t(
                "§11 申诉由本人提出：%(actor)s 不是 %(number)s 的当事人",
                actor=actor,
                number=original.number,
            ),
            "original_case_id",
        )


def _appeal(context: hooks.ActionContext) -> tuple[CaseFile, Appeal]:
    case = cases.of_context(context)
    appeal = context.session.execute(select(Appeal).where(Appeal.case_id == case.id)).scalar_one()
    return case, appeal


def _day(
    data: dict[str, Any], field: str, label: str, *, not_before: date, refusals: cases.Refusals
) -> date:
    """The date in `field`; one earlier than `not_before` is added to `refusals` (a date after
    today is the form's `x-past` rule)."""
    day = cases.parse_date(data.get(field), field)
    if day < not_before:
        refusals.add(
            t(
                "%(label)s不得早于 %(not_before)s：所填为 %(day)s",
                label=label,
                not_before=not_before,
                day=day,
            ),
            field,
        )
    return day


def conflicted(session: Session, original_case_id: int) -> set[str]:
    """Who handled or decided the original case, and so may not review its appeal (回避)."""
    deciders = session.execute(
        select(Decision.decided_by).where(Decision.case_id == original_case_id)
    )
    return cases.actors(session, original_case_id) | set(deciders.scalars())


#: The role a reviewer has when the accepting task does not say (its `reviewerRole`).
REVIEWER_ROLE = "discipline"


def reviewer_refusal(
    session: Session,
    *,
    case: CaseFile,
    original: CaseFile,
    user: User | None,
    role: str,
    conflicts: set[str] | None = None,
) -> str | None:
    """Why `user` may not review the appeal `case` against `original` (None when they may): an
    active user of the review's role in the case's unit, not its cadre, and who neither
    handled nor decided the original case (回避). `conflicts`: `conflicted` already read."""
    if user is None or not user.active:
        return t("复核人不是在用的用户")
    conflicts = conflicted(session, original.id) if conflicts is None else conflicts
    if user.username in conflicts:
        return t(
            "回避：%(display_name)s办理或决定过原案件 %(number)s，不得复核其申诉",
            display_name=user.display_name,
            number=original.number,
        )
    if user.role != role or user.org_unit_code != case.org_unit_code:
        return t(
            "复核人须为本案管辖单位（%(org_unit_code)s）的%(role)s人员：%(display_name)s是 "
            "%(user_unit)s 的%(user_role)s人员",
            org_unit_code=case.org_unit_code,
            role=_role_name(role),
            display_name=user.display_name,
            user_unit=user.org_unit_code,
            user_role=_role_name(user.role),
        )
    if case.cadre_id is not None and user.cadre_id == case.cadre_id:
        return t("回避：%(display_name)s是本案当事干部，不得复核", display_name=user.display_name)
    return None


def reviewer_candidates(
    session: Session, *, case: CaseFile, role: str, text: str | None = None, limit: int = 200
) -> list[User]:
    """Who may be named to review the appeal `case` (`reviewer_refusal` passes), by name;
    `text` narrows them by 姓名 or username."""
    appeal = session.execute(select(Appeal).where(Appeal.case_id == case.id)).scalar_one()
    original = cases.get(session, appeal.original_case_id)
    conflicts = conflicted(session, original.id)
    query = select(User).where(
        User.role == role, User.org_unit_code == case.org_unit_code, User.active.is_(True)
    )
    narrowed = textsearch.matching(text, User.display_name, User.username)
    if narrowed is not None:
        query = query.where(narrowed)
    found = session.execute(query.order_by(User.display_name, User.username)).scalars()
    return [
        user
        for user in found
        if reviewer_refusal(
            session, case=case, original=original, user=user, role=role, conflicts=conflicts
        )
        is None
    ][:limit]


@hooks.on_complete("appeal_accept")
def accept(context: hooks.ActionContext) -> None:
    """受理并指定复核人: the reviewer is of the review lane's role here and took no part in the
    original case (`reviewer_refusal`, the rule the page's list of reviewers applies too)."""
    data, session = context.data, context.session
    case, appeal = _appeal(context)
    reviewer = str(data.get("reviewer") or "").strip()
    original = cases.get(session, appeal.original_case_id)
    role = context.properties.get("reviewerRole", REVIEWER_ROLE)
    user = session.execute(select(User).where(User.username == reviewer)).scalar_one_or_none()
    refusals = cases.Refusals()
    if user is None or not user.active:
        refusals.add(t("复核人 %(reviewer)r 不是在用的用户", reviewer=reviewer), "reviewer")
    else:
        refused = reviewer_refusal(session, case=case, original=original, user=user, role=role)
        if refused is not None:
            refusals.add(refused, "reviewer")
    _day(data, "accepted_on", "受理日期", not_before=appeal.filed_on, refusals=refusals)
    refusals.check()
    appeal.reviewer = reviewer
    data["reviewer"] = reviewer


def _role_name(role: str) -> str:
    return ROLES.get(role, role)


@hooks.on_complete("appeal_review")
def review(context: hooks.ActionContext) -> None:
    """复核: by the assigned reviewer only; records the outcome and applies it to the original case."""
    data, session, clock = context.data, context.session, context.clock
    case, appeal = _appeal(context)
    if context.actor != appeal.reviewer:
        raise _refuse(
            t("只有指定的复核人 %(reviewer)s 可以办理本申诉的复核", reviewer=appeal.reviewer),
            "reviewer",
        )
    outcome = data.get("outcome")
    if outcome not in OUTCOMES:
        raise _refuse(t("复核结论须为维持、变更或者撤销"), "outcome")
    reason = str(data.get("reason") or "").strip()
    if not reason:
        raise _refuse(t("问责条例第二十条：复核决定须写明理由"), "reason")
    original = cases.get(session, appeal.original_case_id)
    decision = session.get(Decision, appeal.decision_id)
    assert decision is not None
    if decision.effective != "effective":
        raise _refuse(
            t(
                "原决定已被%(effect)s，不能再复核",
                effect=EFFECTS.get(decision.effective, decision.effective),
            ),
            "outcome",
        )
    today = clock.today()
    if outcome == "modify":
        _modify(
            session,
            data,
            case=case,
            original=original,
            decision=decision,
            reason=reason,
            actor=context.actor,
            clock=clock,
        )
    elif outcome == "revoke":
        decision.effective = "revoked"
        _change_bans(
            session, decision, status="revoked", case=case, note=f"申诉 {case.number} 撤销原决定"
        )
        original.outcome = "revoked"
    session.add(
        Decision(
            case_id=case.id,
            kind="appeal",
            outcome=outcome,
            reason=reason,
            decided_on=today,
            decided_by=context.actor,
            recorded_at=clock.now(),
        )
    )
    appeal.outcome = outcome
    case.status, case.outcome = "decided", outcome
    data["reviewed_on"] = today.isoformat()
    session.flush()


def _modify(
    session: Session,
    data: dict[str, Any],
    *,
    case: CaseFile,
    original: CaseFile,
    decision: Decision,
    reason: str,
    actor: str,
    clock: Clock,
) -> None:
    """变更: the old decision is marked modified and a new one corrects it; bans follow."""
    allowed = NEW_OUTCOMES[decision.kind]
    new_outcome = data.get("new_outcome")
    if new_outcome not in allowed:
        raise _refuse(
            t("变更后的处理结果须为%(choices)s之一", choices="、".join(allowed.values())),
            "new_outcome",
        )
    adjustment = data.get("new_adjustment") or None
    if new_outcome == "adjustment" and adjustment not in cadres.BAN_MONTHS:
        raise _refuse(
            t("§6 变更为组织调整的，须选定调离岗位、改任非领导职务、免职或降职之一"),
            "new_adjustment",
        )
    if new_outcome != "adjustment":
        adjustment = None
    if new_outcome == decision.outcome and adjustment == decision.adjustment:
        raise _refuse(t("变更后的处理结果与原决定相同：应作维持决定"), "new_outcome")
    decision.effective = "modified"
    corrected = Decision(
        case_id=original.id,
        kind=decision.kind,
        outcome=new_outcome,
        adjustment=adjustment,
        reason=f"申诉 {case.number} 复核变更：{reason}",
        decided_on=clock.today(),
        decided_by=actor,
        corrects_id=decision.id,
        recorded_at=clock.now(),
    )
    session.add(corrected)
    session.flush()
    _change_bans(
        session, decision, status="changed", case=case, note=f"申诉 {case.number} 变更原决定"
    )
    if adjustment is not None and original.cadre_id is not None:
        # The ban still runs from the original decision date: the appeal changes its kind, not its start.
        cadres.add_ban(
            session,
            cadre_id=original.cadre_id,
            case_id=original.id,
            decision_id=corrected.id,
            adjustment=adjustment,
            decided_on=decision.decided_on,
        )
    original.outcome = adjustment or new_outcome
    data["corrected_decision_id"] = corrected.id


def _change_bans(
    session: Session, decision: Decision, *, status: str, case: CaseFile, note: str
) -> None:
    bans = session.execute(
        select(PromotionBan).where(
            PromotionBan.decision_id == decision.id, PromotionBan.status == "active"
        )
    ).scalars()
    for ban in bans:
        ban.status, ban.changed_by_case_id, ban.note = status, case.id, note


@hooks.on_complete("appeal_notify")
def notify(context: hooks.ActionContext) -> None:
    """书面通知: the dates the appellant and their unit were notified in writing; closes the case."""
    data = context.data
    case, _appeal_row = _appeal(context)
    reviewed_on = cases.parse_date(data.get("reviewed_on"), "reviewed_on")
    refusals = cases.Refusals()
    notified_on = _day(
        data, "notified_on", "书面通知申诉人日期", not_before=reviewed_on, refusals=refusals
    )
    _day(
        data, "unit_notified_on", "书面通知所在单位日期", not_before=reviewed_on, refusals=refusals
    )
    refusals.check()
    case.received_on = notified_on
    case.status, case.closed_at = "closed", context.clock.now()
