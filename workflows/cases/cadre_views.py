"""我的案件: a cadre's own home (DOMAIN.md §6 last bullet) — their cases with a status they
understand, the decisions served on them with the appeal window, their applications (免责申请,
申诉, 澄清正名申请) and their state, and the steps they owe themself.

Built from the rules of `served.py` and the case views (views.py), scoped by
workflows/access.py: nothing internal — no step names of other roles, supervision, lanes,
diagrams or other people's login names — and no decision before it is served.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases import appeal, intake, served
from workflows.cases import service as cases
from workflows.cases import views as case_views
from workflows.cases.models import Appeal, CaseFile
from workflows.cases.views import CaseView, DecisionView
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask
from workflows.errors import Forbidden
from workflows.messages import t

#: Applications a cadre (or their unit for them) makes, by the kind and origin of the case.
APPLICATION_NAMES = {
    "appeal": "申诉",
    "tolerance_review": "免责申请",
    "clarification": "澄清正名申请",
}
#: Clarifications asked for by the cadre or their unit (an organ may also open one itself).
REQUESTED = frozenset({"cadre_request", "unit_request"})
#: How many cases the home lists (a cadre has a handful; the rest are behind the case search).
LIMIT = 200


@dataclass(frozen=True)
class ServedDecisionView:
    """A decision served on the cadre, with when they may appeal it."""

    decision: DecisionView
    case: CaseView
    appeal_ends_on: date | None  # the last day of the appeal window, where it may be appealed
    may_appeal: bool  # the window is open and nothing is filed yet
    appealed_as: str | None  # the appeal already filed against it


@dataclass(frozen=True)
class ApplicationView:
    """An application made by or for the cadre and its state (the case's status as served)."""

    kind_name: str  # 申诉, 免责申请, 澄清正名申请
    case: CaseView
    against: str | None  # the case number it is made against, where there is one


@dataclass(frozen=True)
class OwedStep:
    """A step the cadre owes themself in one of their cases."""

    id: int
    name: str
    case_id: int | None
    case_number: str | None
    due_at: datetime | None
    overdue: bool


@dataclass(frozen=True)
class MyCasesView:
    """The cadre's home: cases, served decisions, applications and the steps they owe."""

    cadre_id: int
    cadre_name: str
    cases: tuple[CaseView, ...]
    decisions: tuple[ServedDecisionView, ...]  # newest served first
    applications: tuple[ApplicationView, ...]
    steps: tuple[OwedStep, ...]
    may_apply: bool  # the cadre may open an application (exemption, clarification) themself


def my_cases(session: Session, *, principal: Principal, clock: Clock) -> MyCasesView:
    """The home of a cadre user; Forbidden for anyone else (officials use their queues)."""
    if principal.role != "cadre" or principal.cadre_id is None:
        raise Forbidden(
            t(
                "我的案件是干部本人的首页：%(username)s 不是干部本人账号",
                username=principal.username,
            )
        )
    cadre = access.get_cadre(session, principal, principal.cadre_id)
    found = list(
        session.execute(
            select(CaseFile)
            .where(access.case_scope(principal))
            .order_by(CaseFile.opened_at.desc(), CaseFile.id.desc())
            .limit(LIMIT)
        ).scalars()
    )
    views = dict(
        zip(
            (case.id for case in found),
            case_views.case_views_for(session, principal, found),
            strict=True,
        )
    )
    standings = served.standings(session, found)
    today = clock.today()
    decisions: list[ServedDecisionView] = []
    for case in found:
        shown = case_views.served_decision_views(session, standings[case.id], case, views[case.id])
        window = appeal.appeal_window(session, case) if shown else None
        in_force = [d for d in shown if d.effective == "effective"]
        for decision in shown:
            current = bool(in_force) and decision is in_force[-1] and window is not None
            decisions.append(
                ServedDecisionView(
                    decision=decision,
                    case=views[case.id],
                    appeal_ends_on=window.ends_on if current and window else None,
                    may_appeal=bool(
                        current and window and window.filed_as is None and today <= window.ends_on
                    ),
                    appealed_as=window.filed_as if current and window else None,
                )
            )
    decisions.sort(
        key=lambda d: (d.decision.served_on or d.decision.decided_on, d.decision.id), reverse=True
    )
    return MyCasesView(
        cadre_id=cadre.id,
        cadre_name=cadre.name,
        cases=tuple(views[case.id] for case in found),
        decisions=tuple(decisions),
        applications=tuple(_applications(session, found, views)),
        steps=tuple(_owed(session, principal, clock=clock)),
        may_apply=bool(intake.openable_kinds(principal)),
    )


def _applications(
    session: Session, found: list[CaseFile], views: dict[int, CaseView]
) -> list[ApplicationView]:
    against = {
        case_id: number
        for case_id, number in session.execute(
            select(Appeal.case_id, CaseFile.number)
            .join(CaseFile, CaseFile.id == Appeal.original_case_id)
            .where(Appeal.case_id.in_([c.id for c in found if c.kind == "appeal"]))
        )
    }
    reviews = {
        other.id: number
        for case in found
        if case.kind == "accountability"
        for number, other in _reviews_of(session, case)
    }
    listed = []
    for case in found:
        if not is_application(case):
            continue
        listed.append(
            ApplicationView(
                kind_name=APPLICATION_NAMES[case.kind],
                case=views[case.id],
                against=against.get(case.id) or reviews.get(case.id),
            )
        )
    return listed


def is_application(case: CaseFile) -> bool:
    """An appeal, an exemption application (a tolerance review the accountability case did not
    refer itself: its source is the applicant, `cadre`, `unit` or `application:<applicant>`), or
    a clarification the cadre or their unit asked for."""
    if case.kind == "appeal":
        return True
    if case.kind == "tolerance_review":
        return case.source not in (None, "accountability")
    return case.kind == "clarification" and case.source in REQUESTED


def _reviews_of(session: Session, case: CaseFile) -> list[tuple[str, CaseFile]]:
    """(the accountability case's number, a review it links to)."""
    return [
        (case.number, other)
        for direction, link, other in cases.linked(session, case.id)
        if direction == "to" and other.kind == "tolerance_review"
    ]


def _owed(session: Session, principal: Principal, *, clock: Clock) -> list[OwedStep]:
    now = clock.now()
    rows = session.execute(
        select(HumanTask, CaseFile.id, CaseFile.number)
        .outerjoin(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
        .where(HumanTask.state == "open", access.task_scope(principal))
        .order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id)
    ).all()
    return [
        OwedStep(
            id=task.id,
            name=task.name,
            case_id=case_id,
            case_number=number,
            due_at=task.due_at,
            overdue=task.due_at is not None and task.due_at < now,
        )
        for task, case_id, number in rows
    ]
