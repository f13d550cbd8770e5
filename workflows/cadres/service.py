"""Promotion bans (§6) and the eligibility check the organization department uses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cadres.models import Cadre, PromotionBan
from workflows.engine.calendar import add_months
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t

#: §6: transfer, non-leadership post or dismissal → 1 year; demotion → 2 years (policy, not a default).
BAN_MONTHS = {"transfer": 12, "non_leadership": 12, "dismissal": 12, "demotion": 24}
ADJUSTMENT_NAMES = {
    "transfer": "调离岗位",
    "non_leadership": "改任非领导职务",
    "dismissal": "免职",
    "demotion": "降职",
}


def add_ban(
    session: Session,
    *,
    cadre_id: int,
    case_id: int,
    decision_id: int,
    adjustment: str,
    decided_on: date,
) -> PromotionBan:
    """The ban an organizational adjustment carries, from the decision date; flushes."""
    if adjustment not in BAN_MONTHS:
        raise ValidationFailed(
            t("未知的组织调整 %(adjustment)r", adjustment=adjustment),
            [
                {
                    "field": "adjustment",
                    "message": t("应为以下之一：%(choices)s", choices=", ".join(BAN_MONTHS)),
                }
            ],
        )
    ban = PromotionBan(
        cadre_id=cadre_id,
        case_id=case_id,
        decision_id=decision_id,
        adjustment=adjustment,
        starts_on=decided_on,
        ends_on=add_months(decided_on, BAN_MONTHS[adjustment]),
        status="active",
    )
    session.add(ban)
    session.flush()
    return ban


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    until: date | None = None
    case_number: str | None = None
    reason: str = ""


def eligibility(session: Session, *, cadre_id: int, on: date) -> Eligibility:
    """Eligible for promotion on `on`, or not until a date because of a case."""
    from workflows.cases.models import CaseFile

    if session.get(Cadre, cadre_id) is None:
        raise NotFound(t("干部 %(cadre_id)s 不存在", cadre_id=cadre_id))
    rows = session.execute(
        select(PromotionBan, CaseFile.number)
        .join(CaseFile, CaseFile.id == PromotionBan.case_id)
        .where(
            PromotionBan.cadre_id == cadre_id,
            PromotionBan.status == "active",
            PromotionBan.starts_on <= on,
            PromotionBan.ends_on > on,
        )
        .order_by(PromotionBan.ends_on.desc())
    ).all()
    if not rows:
        return Eligibility(True)
    ban, number = rows[0]
    return Eligibility(
        False,
        ban.ends_on,
        number,
        f"{ADJUSTMENT_NAMES[ban.adjustment]}，自 {ban.starts_on} 起不得提拔，至 {ban.ends_on}",
    )


def bans(session: Session, *, cadre_id: int) -> list[PromotionBan]:
    return list(
        session.execute(
            select(PromotionBan).where(PromotionBan.cadre_id == cadre_id).order_by(PromotionBan.id)
        ).scalars()
    )
