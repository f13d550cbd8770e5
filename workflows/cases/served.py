"""What a cadre may know of their own cases (DOMAIN.md §6 last bullet, §2.1.7, §2.3.5): the
decisions **served** on them (送达, `CaseFile.received_on`), a status in plain words derived
without internal step names, and the organs (not the people) that acted.

A decision is served when its case records the day the cadre received it: accountability
decisions and tolerance determinations at their 送达 step, an appeal's outcome at its 书面通知.
What an appeal changes on the original case (a corrected decision, a revoked one) is served
with the appeal. Cases whose processes serve nothing (纠错整改, 澄清正名) show their result once
they are closed. Until then the cadre reads 办理中: no outcome, no decision, no 'decided'.

These are the rules; workflows/cases/views.py and cadre_views.py build the views from them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.cases.models import Appeal, CaseFile, Decision
from workflows.org import service as org
from workflows.org.models import User

#: Kinds of case whose decision reaches the cadre by a step that records the day of receipt.
SERVING_KINDS = frozenset({"accountability", "tolerance_review", "appeal"})
#: The cadre's statuses: what they can understand of a case's state.
STATUS_NAMES = {
    "in_progress": "办理中",
    "rectifying": "整改中",
    "served": "已送达决定",
    "final": "决定已生效",
    "closed": "已办结",
}
#: How an organ is named from its unit's name (合肥市 → 合肥市纪委监委), per role.
ORGAN_PATTERNS = {
    "discipline": "{unit}纪委监委",
    "organization": "{unit}委组织部",
    "committee": "{unit}委",
    "functional": "{unit}相关职能部门",
    "supervisor": "{unit}督查部门",
    "admin": "{unit}系统管理部门",
    "designer": "{unit}系统管理部门",
    "unit": "所在单位",
    "cadre": "本人",
}


@dataclass(frozen=True)
class Standing:
    """A case as its cadre may know it: status, outcome and the decisions served, each with
    its standing as served (a change an appeal made counts once the appeal is served)."""

    status: str  # a key of STATUS_NAMES
    status_name: str
    outcome: str | None  # None until a decision is served (or the case closed)
    served: tuple[Decision, ...]  # oldest first
    effective: dict[int, str]  # decision id → effective, modified or revoked, as served
    served_on: dict[int, date]  # decision id → the day it was received


def standings(session: Session, found: Iterable[CaseFile]) -> dict[int, Standing]:
    """The standing of each case (by id), with two queries for all of them."""
    listed = list(found)
    ids = [case.id for case in listed]
    if not ids:
        return {}
    decisions = session.execute(
        select(Decision).where(Decision.case_id.in_(ids)).order_by(Decision.id)
    ).scalars()
    by_case: dict[int, list[Decision]] = {}
    for decision in decisions:
        by_case.setdefault(decision.case_id, []).append(decision)
    # The appeals against these cases, with the day each appeal's outcome was served.
    appealed: dict[int, date | None] = {
        decision_id: received_on
        for decision_id, received_on in session.execute(
            select(Appeal.decision_id, CaseFile.received_on)
            .join(CaseFile, CaseFile.id == Appeal.case_id)
            .where(Appeal.original_case_id.in_(ids))
        )
    }
    return {case.id: _standing(case, by_case.get(case.id, []), appealed) for case in listed}


def standing(session: Session, case: CaseFile) -> Standing:
    """The standing of one case."""
    return standings(session, [case])[case.id]


def _standing(
    case: CaseFile, decisions: Sequence[Decision], appealed: dict[int, date | None]
) -> Standing:
    closed = case.status == "closed" or case.closed_at is not None
    served: list[Decision] = []
    effective: dict[int, str] = {}
    served_on: dict[int, date] = {}
    for decision in decisions:
        if case.kind not in SERVING_KINDS:
            day = case.closed_at.date() if closed and case.closed_at else None
            shown = closed
        elif decision.corrects_id is not None:  # an appeal's correction: served with the appeal
            day = appealed.get(decision.corrects_id)
            shown = day is not None
        else:
            day = case.received_on
            shown = day is not None
        if not shown:
            continue
        served.append(decision)
        assert day is not None or case.kind not in SERVING_KINDS
        if day is not None:
            served_on[decision.id] = day
        changed_by_served_appeal = appealed.get(decision.id) is not None
        effective[decision.id] = (
            decision.effective
            if decision.effective == "effective" or changed_by_served_appeal
            else "effective"
        )
    status = _status(case, closed=closed, served=bool(served))
    return Standing(
        status=status,
        status_name=STATUS_NAMES[status],
        outcome=_outcome(case, served, effective, closed=closed),
        served=tuple(served),
        effective=effective,
        served_on=served_on,
    )


def _status(case: CaseFile, *, closed: bool, served: bool) -> str:
    if closed:
        return "closed"
    if served and case.kind in SERVING_KINDS:
        return "final" if case.status == "final" else "served"
    if case.kind == "rectification":
        return "rectifying"
    return "in_progress"


def _outcome(
    case: CaseFile, served: Sequence[Decision], effective: dict[int, str], *, closed: bool
) -> str | None:
    """The outcome key as served: the latest served decision in force, `revoked` when an
    appeal served its revocation; for kinds that serve nothing, the case's own once closed."""
    if case.kind not in SERVING_KINDS:
        return case.outcome if closed else None
    in_force = [d for d in served if effective.get(d.id) == "effective"]
    if in_force:
        latest = in_force[-1]
        return latest.adjustment or latest.outcome
    return "revoked" if served else None


# --- organs, not people ---------------------------------------------------------------------


def organ_names(
    session: Session, usernames: Iterable[str], *, fallback_unit: str
) -> dict[str, str]:
    """How a cadre reads each of these users: the organ they act for (合肥市纪委监委), never
    their login name. Someone who is no user (the scheduler) reads as `fallback_unit`'s
    有关部门."""
    wanted = sorted(set(usernames))
    if not wanted:
        return {}
    users = {
        name: (role, unit)
        for name, role, unit in session.execute(
            select(User.username, User.role, User.org_unit_code).where(User.username.in_(wanted))
        )
    }
    units = org.unit_names(session, [unit for _, unit in users.values()] + [fallback_unit])
    fallback = f"{units.get(fallback_unit, fallback_unit)}有关部门"
    named = {}
    for name in wanted:
        if name not in users:
            named[name] = fallback
            continue
        role, unit = users[name]
        pattern = ORGAN_PATTERNS.get(role, "{unit}有关部门")
        named[name] = pattern.format(unit=units.get(unit, unit))
    return named
