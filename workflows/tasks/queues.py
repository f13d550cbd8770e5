"""Task queues (待办/已办): what a principal owes, sorted by due date, one page at a time.

Queries read the human-task projection joined to its case; nothing is deserialized.
"Due soon" means due before the end of the third working day from today (DOMAIN.md §4).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from workflows import textsearch
from workflows.access import Principal, task_scope
from workflows.cases.models import CaseFile
from workflows.engine import functions
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, table_of
from workflows.errors import UnknownCalendarYear, ValidationFailed

QUEUES = ("mine", "role", "done")
DUE_SOON_WORKDAYS = 3
_QUEUE_NAMES = {"mine": "我的待办", "role": "本岗位待办", "done": "已办"}


def due_soon_limit(session: Session, clock: Clock, workdays: int = DUE_SOON_WORKDAYS) -> datetime:
    """The moment before which an open task counts as due soon: the end of the n-th working
    day from today. An unknown calendar year falls back to calendar days, never an error
    on a list page."""
    today = clock.today()
    try:
        day = functions.load_calendar(session).add_workdays(today, workdays)
    except UnknownCalendarYear:
        day = today + timedelta(days=workdays)
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=clock.tz)


@dataclass(frozen=True)
class Filters:
    queue: str = "role"
    process: str | None = None
    due_before: date | None = None
    overdue: bool | None = None
    text: str | None = None


def task_rows(principal: Principal, filters: Filters, *, now: datetime) -> Select[Any]:
    """The query of one queue: task columns with its case's id, number and subject."""
    query: Select[Any] = cast(Select[Any], (
        select(HumanTask, CaseFile.id.label("case_id"), CaseFile.number.label("case_number"),
               CaseFile.subject_name.label("subject_name"), CaseFile.title.label("case_title"))
        .outerjoin(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
    ))
    return _filtered(query, principal, filters, now=now)


def _filtered(query: Select[Any], principal: Principal, filters: Filters, *, now: datetime) -> Select[Any]:
    """`query` (over HumanTask, and CaseFile when the text filter names it) narrowed and
    ordered as the queue asks."""
    if filters.queue not in QUEUES:
        raise ValidationFailed("unknown queue", [{"field": "queue", "message": f"one of {', '.join(QUEUES)}"}])
    if filters.queue == "done":
        query = query.where(HumanTask.state == "completed", HumanTask.completed_by == principal.username)
        query = query.order_by(HumanTask.completed_at.desc(), HumanTask.id.desc())
    else:
        query = query.where(HumanTask.state == "open", task_scope(principal))
        if filters.queue == "mine":
            query = query.where(HumanTask.assignee == principal.username)
        else:
            query = query.where(HumanTask.role == principal.role,
                                or_(HumanTask.assignee.is_(None), HumanTask.assignee == principal.username,
                                    HumanTask.owner == principal.username))
        query = query.order_by(HumanTask.due_at.asc().nulls_last(), HumanTask.id)
    if filters.process:
        query = query.where(HumanTask.process_key == filters.process)
    if filters.due_before is not None:
        query = query.where(HumanTask.due_at < datetime.combine(filters.due_before, time.min, tzinfo=now.tzinfo))
    if filters.overdue is True:
        query = query.where(HumanTask.due_at < now)
    elif filters.overdue is False:
        query = query.where(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= now))
    found = textsearch.matching(filters.text, CaseFile.number, CaseFile.subject_name, HumanTask.name)
    if found is not None:
        query = query.where(found)
    return query


def page(session: Session, principal: Principal, filters: Filters, *, now: datetime, page: int,
         per_page: int) -> tuple[list[Any], int]:
    """One page of a queue — rows of the task's columns with case_id, case_number,
    subject_name and case_title — and the queue's length.

    Without a text filter the page is cut from the task rows alone and only its rows meet
    their cases: joining first would look up the case of every row before a deep page."""
    tasks = table_of(HumanTask)
    offset = (page - 1) * per_page
    narrowed: Select[Any] = select(*tasks.c)
    if filters.text:  # the text filter reads the case: join before cutting
        narrowed = narrowed.outerjoin(CaseFile, CaseFile.instance_id == tasks.c.instance_id)
    cut = _filtered(narrowed, principal, filters, now=now).limit(per_page).offset(offset).subquery("page")
    ordered = ((cut.c.completed_at.desc(), cut.c.id.desc()) if filters.queue == "done"
               else (cut.c.due_at.asc().nulls_last(), cut.c.id))
    query = (select(cut, CaseFile.id.label("case_id"), CaseFile.number.label("case_number"),
                    CaseFile.subject_name.label("subject_name"), CaseFile.title.label("case_title"))
             .outerjoin(CaseFile, CaseFile.instance_id == cut.c.instance_id)
             .order_by(*ordered))
    rows = list(session.execute(query))
    if len(rows) < per_page and (rows or page == 1):
        return rows, offset + len(rows)
    return rows, count_of(session, task_rows(principal, filters, now=now))


def count_of(session: Session, query: Select[Any]) -> int:
    inner = query.order_by(None).with_only_columns(HumanTask.id)
    return int(session.execute(select(func.count()).select_from(inner.subquery())).scalar_one())


def marks(due_at: datetime | None, *, now: datetime, soon: datetime) -> dict[str, bool]:
    """The overdue / due-soon markers of a task."""
    return {"overdue": due_at is not None and due_at < now,
            "due_soon": due_at is not None and now <= due_at < soon}


def queue_name(queue: str) -> str:
    return _QUEUE_NAMES.get(queue, queue)



