"""加签 and 抄送, read: the requests for opinions of a step (its 办理记录), the requests a
principal is asked to answer (征求意见, in their 待办), the copies sent to them (抄送我的), and
whom the holder may pick — people named 姓名（单位·岗位）, with the actions the principal may
take computed by the rules of the writes (workflows/tasks/consultations.py, copies.py)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from workflows import access, paging
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.engine.models import HumanTask
from workflows.org import people as org_people
from workflows.org.people import Person
from workflows.tasks import colleagues, consultations
from workflows.tasks.models import (
    CONSULTATION_ANSWERED,
    CONSULTATION_OPEN,
    CONSULTATION_WITHDRAWN,
    Consultation,
    ConsultationOpinion,
    TaskCopy,
)

STATE_NAMES = {
    CONSULTATION_OPEN: "待回复",
    CONSULTATION_ANSWERED: "已全部回复",
    CONSULTATION_WITHDRAWN: "已撤回",
}
#: What a principal may do to a request: answer it (the asked), withdraw it (the holder).
ANSWER, WITHDRAW = "answer", "withdraw"
#: Which of my requests a list shows: still to answer, answered by me, or all.
MINE = ("open", "answered", "all")


@dataclass(frozen=True)
class OpinionView:
    username: str
    name: str  # 姓名（单位·岗位）
    opinion: str | None
    answered_at: datetime | None


@dataclass(frozen=True)
class ConsultationView:
    """A request for opinions on a step, its people named, with what the principal may do."""

    id: int
    task_id: int
    task_name: str
    task_state: str
    case_id: int | None
    case_number: str | None
    subject_name: str | None
    asked_by: str
    asked_by_name: str
    question: str
    asked_at: datetime
    state: str
    state_name: str
    closed_at: datetime | None
    withdrawn_by: str | None
    opinions: tuple[OpinionView, ...]
    missing: tuple[str, ...]  # the names of those still to answer while open
    actions: tuple[str, ...]  # ANSWER, WITHDRAW

    def may(self, action: str) -> bool:
        return action in self.actions


@dataclass(frozen=True)
class CopyView:
    """A copy (抄送) of a step to one colleague."""

    id: int
    task_id: int
    task_name: str
    case_id: int | None
    case_number: str | None
    subject_name: str | None
    copied_by: str
    copied_by_name: str
    username: str
    name: str
    note: str
    created_at: datetime
    read_at: datetime | None


def of_task(session: Session, principal: Principal, task_id: int) -> list[ConsultationView]:
    """The requests for opinions on a step the principal sees (NotFound otherwise), oldest first."""
    task = access.get_task(session, principal, task_id)
    query = _consultations().where(Consultation.task_id == task.id).order_by(Consultation.id)
    return _views(session, principal, list(session.execute(query)))


def one(session: Session, principal: Principal, consultation_id: int) -> ConsultationView:
    """One request, to whoever was asked in it, asked it, or may complete its step."""
    row = consultations.visible(session, principal, consultation_id)
    found = session.execute(_consultations().where(Consultation.id == row.id)).one()
    return _views(session, principal, [found])[0]


def asked_of_me(
    session: Session,
    principal: Principal,
    *,
    state: str = "open",
    page: int = 1,
    per_page: int = 50,
) -> paging.Page[ConsultationView]:
    """The requests asking the principal's opinion (征求意见), newest first: `open` those still
    to answer on a step still open, `answered` those answered, `all` every one."""
    found = paging.paginate(
        session,
        _asked_of(state),
        page=page,
        per_page=per_page,
        key=Consultation.id,
        params={"me": principal.username},
    )
    return paging.Page(
        _views(session, principal, found.items), found.page, found.per_page, found.total
    )


def open_count(session: Session, principal: Principal) -> int:
    """How many requests still wait for the principal's opinion (the inbox's 征求意见 count)."""
    query = (
        select(ConsultationOpinion.id)
        .join(Consultation, Consultation.id == ConsultationOpinion.consultation_id)
        .join(HumanTask, HumanTask.id == Consultation.task_id)
        .where(
            ConsultationOpinion.username == principal.username,
            ConsultationOpinion.answered_at.is_(None),
            Consultation.state == CONSULTATION_OPEN,
            HumanTask.state == "open",
        )
    )
    return paging.count_of(session, query)


def copies_to_me(
    session: Session, principal: Principal, *, page: int = 1, per_page: int = 50
) -> paging.Page[CopyView]:
    """抄送我的: the copies sent to the principal, newest first."""
    query = cast(
        Select[Any],
        select(TaskCopy, HumanTask.name, CaseFile.number, CaseFile.subject_name)
        .join(HumanTask, HumanTask.id == TaskCopy.task_id)
        .outerjoin(CaseFile, CaseFile.id == TaskCopy.case_id)
        .where(TaskCopy.username == principal.username)
        .order_by(TaskCopy.id.desc()),
    )
    found = paging.paginate(session, query, page=page, per_page=per_page, key=TaskCopy.id)
    return paging.Page(copy_views(session, found.items), found.page, found.per_page, found.total)


def copies_of_task(session: Session, principal: Principal, task_id: int) -> list[CopyView]:
    """The copies of a step the principal sees (NotFound otherwise), oldest first."""
    task = access.get_task(session, principal, task_id)
    query = (
        select(TaskCopy, HumanTask.name, CaseFile.number, CaseFile.subject_name)
        .join(HumanTask, HumanTask.id == TaskCopy.task_id)
        .outerjoin(CaseFile, CaseFile.id == TaskCopy.case_id)
        .where(TaskCopy.task_id == task.id)
        .order_by(TaskCopy.id)
    )
    return copy_views(session, session.execute(query).all())


def copies_by_id(session: Session, ids: Sequence[int]) -> list[CopyView]:
    """These copies (just written, or read by their own colleague), in this order."""
    query = (
        select(TaskCopy, HumanTask.name, CaseFile.number, CaseFile.subject_name)
        .join(HumanTask, HumanTask.id == TaskCopy.task_id)
        .outerjoin(CaseFile, CaseFile.id == TaskCopy.case_id)
        .where(TaskCopy.id.in_(list(ids)))
    )
    found = {view.id: view for view in copy_views(session, session.execute(query).all())}
    return [found[i] for i in ids if i in found]


def copy_views(session: Session, rows: Sequence[Any]) -> list[CopyView]:
    """(TaskCopy, task name, case number, subject) rows as views, people named."""
    named = org_people.labels(
        session, [name for row in rows for name in (row.TaskCopy.copied_by, row.TaskCopy.username)]
    )
    return [
        CopyView(
            id=row.TaskCopy.id,
            task_id=row.TaskCopy.task_id,
            task_name=row.name,
            case_id=row.TaskCopy.case_id,
            case_number=row.number,
            subject_name=row.subject_name,
            copied_by=row.TaskCopy.copied_by,
            copied_by_name=named[row.TaskCopy.copied_by],
            username=row.TaskCopy.username,
            name=named[row.TaskCopy.username],
            note=row.TaskCopy.note,
            created_at=row.TaskCopy.created_at,
            read_at=row.TaskCopy.read_at,
        )
        for row in rows
    ]


def candidates(session: Session, principal: Principal, task_id: int) -> list[Person]:
    """Whom the principal may ask for an opinion on, or copy on, the step: none unless they may
    complete it (NotFound when out of their sight)."""
    task = access.get_task(session, principal, task_id)
    facts = access.task_facts(session, task.id)
    if task.state != "open" or facts is None or access.work_refusal(session, principal, facts):
        return []
    step = colleagues.step_of(session, task)
    return colleagues.candidates(session, step, principal, verb=consultations.VERB)


def missing_refusal(session: Session, task_id: int) -> str | None:
    """Why the step may not be completed yet because of open requests (the names missing)."""
    refused = consultations.opinions_missing(session, task_id=task_id)
    return refused.message if refused is not None else None


@functools.cache
def _asked_of(state: str) -> Select[Any]:
    """`asked_of_me`'s statement for a state, the principal's username the parameter `me`."""
    mine = select(ConsultationOpinion.consultation_id).where(
        ConsultationOpinion.username == bindparam("me")
    )
    if state == "open":
        mine = mine.where(ConsultationOpinion.answered_at.is_(None))
    elif state == "answered":
        mine = mine.where(ConsultationOpinion.answered_at.is_not(None))
    query = _consultations().where(Consultation.id.in_(mine))
    if state == "open":
        query = query.where(Consultation.state == CONSULTATION_OPEN, HumanTask.state == "open")
    return query.order_by(Consultation.id.desc())


# -- shaping -------------------------------------------------------------------------------


def _consultations() -> Select[Any]:
    return cast(
        Select[Any],
        select(
            Consultation,
            HumanTask.name.label("task_name"),
            HumanTask.state.label("task_state"),
            CaseFile.number.label("case_number"),
            CaseFile.subject_name,
        )
        .join(HumanTask, HumanTask.id == Consultation.task_id)
        .outerjoin(CaseFile, CaseFile.id == Consultation.case_id),
    )


def _views(session: Session, principal: Principal, rows: Sequence[Any]) -> list[ConsultationView]:
    if not rows:
        return []
    ids = [row.Consultation.id for row in rows]
    opinions: dict[int, list[ConsultationOpinion]] = {}
    for opinion in session.execute(
        select(ConsultationOpinion)
        .where(ConsultationOpinion.consultation_id.in_(ids))
        .order_by(ConsultationOpinion.id)
    ).scalars():
        opinions.setdefault(opinion.consultation_id, []).append(opinion)
    named = org_people.labels(
        session,
        [row.Consultation.asked_by for row in rows]
        + [o.username for found in opinions.values() for o in found],
    )
    views = []
    for row in rows:
        c = row.Consultation
        asked = opinions.get(c.id, [])
        is_open = c.state == CONSULTATION_OPEN and row.task_state == "open"
        actions = []
        if is_open and any(
            o.username == principal.username and o.answered_at is None for o in asked
        ):
            actions.append(ANSWER)
        if is_open and consultations.may_withdraw(session, principal, c, _State(row.task_state)):
            actions.append(WITHDRAW)
        views.append(
            ConsultationView(
                id=c.id,
                task_id=c.task_id,
                task_name=row.task_name,
                task_state=row.task_state,
                case_id=c.case_id,
                case_number=row.case_number,
                subject_name=row.subject_name,
                asked_by=c.asked_by,
                asked_by_name=named[c.asked_by],
                question=c.question,
                asked_at=c.asked_at,
                state=c.state,
                state_name=STATE_NAMES.get(c.state, c.state),
                closed_at=c.closed_at,
                withdrawn_by=c.withdrawn_by,
                opinions=tuple(
                    OpinionView(o.username, named[o.username], o.opinion, o.answered_at)
                    for o in asked
                ),
                missing=tuple(
                    named[o.username]
                    for o in asked
                    if o.answered_at is None and c.state == CONSULTATION_OPEN
                ),
                actions=tuple(actions),
            )
        )
    return views


@dataclass(frozen=True)
class _State:
    state: str
