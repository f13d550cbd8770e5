"""Task queues (待办/已办): what a principal owes, sorted by due date, one page at a time.

Queries read the human-task projection joined to its case; nothing is deserialized.
"Due soon" means due before the end of the third working day from today (DOMAIN.md §4).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import BindParameter

from workflows import paging, textsearch
from workflows.access import Principal, bound_task_scope, task_scope_values
from workflows.cases.models import Appeal, CaseFile
from workflows.engine import functions, versions
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, table_of
from workflows.errors import UnknownCalendarYear, ValidationFailed
from workflows.messages import t
from workflows.org.models import OrgUnit

QUEUES = ("mine", "role", "done")
#: Open queues by due date: earliest first (undated last), or latest first.
SORTS = ("due", "-due")
DUE_SOON_WORKDAYS = 3


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
    sort: str = "due"  # open queues only: "-due" puts the latest due first


@dataclass(frozen=True)
class _Shape:
    """What a queue's statement looks like — everything but its parameters' values: one
    statement is built per shape and kept (SQLAlchemy then reuses its compiled form)."""

    queue: str
    sort: str
    scope: str  # access.bound_task_scope's kind
    process: bool
    due_before: bool
    overdue: bool | None
    text: bool


def _shape_and_values(
    principal: Principal, filters: Filters, *, now: datetime
) -> tuple[_Shape, dict[str, Any]]:
    """The statement shape of a queue and the values of its parameters."""
    if filters.queue not in QUEUES:
        raise ValidationFailed(
            t("未知的队列"),
            [
                {
                    "field": "queue",
                    "message": t("应为以下之一：%(choices)s", choices=", ".join(QUEUES)),
                }
            ],
        )
    scope, values = task_scope_values(principal) if filters.queue != "done" else ("", {})
    values = {**values, "me": principal.username, "my_role": principal.role, "now": now}
    if filters.process:
        values["process"] = filters.process
    if filters.due_before is not None:
        values["due_before"] = datetime.combine(filters.due_before, time.min, tzinfo=now.tzinfo)
    wanted = textsearch.pattern(filters.text)
    if wanted is not None:
        values["pattern"] = wanted
    shape = _Shape(
        queue=filters.queue,
        sort="-due" if filters.sort == "-due" else "due",  # any other value sorts as "due"
        scope=scope,
        process=bool(filters.process),
        due_before=filters.due_before is not None,
        overdue=filters.overdue,
        text=wanted is not None,
    )
    return shape, values


def _conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    """The queue's conditions over HumanTask (and CaseFile for the text filter), with
    parameters for every value."""
    me: BindParameter[str] = bindparam("me")
    if shape.queue == "done":
        found = [HumanTask.state == "completed", HumanTask.completed_by == me]
    else:
        found = [HumanTask.state == "open", bound_task_scope(shape.scope)]
        if shape.queue == "mine":
            found.append(HumanTask.assignee == me)
        else:
            found += [
                HumanTask.role == bindparam("my_role"),
                or_(HumanTask.assignee.is_(None), HumanTask.assignee == me, HumanTask.owner == me),
            ]
    if shape.process:
        found.append(HumanTask.process_key == bindparam("process"))
    if shape.due_before:
        found.append(HumanTask.due_at < bindparam("due_before"))
    if shape.overdue is True:
        found.append(HumanTask.due_at < bindparam("now"))
    elif shape.overdue is False:
        found.append(or_(HumanTask.due_at.is_(None), HumanTask.due_at >= bindparam("now")))
    if shape.text:
        found.append(
            textsearch.matching_bound(
                "pattern", CaseFile.number, CaseFile.subject_name, HumanTask.name
            )
        )
    return found


def _open_order(due_at: Any, task_id: Any, sort: str) -> tuple[Any, ...]:
    if sort == "-due":
        return due_at.desc().nulls_last(), task_id.desc()
    return due_at.asc().nulls_last(), task_id


def page(
    session: Session,
    principal: Principal,
    filters: Filters,
    *,
    now: datetime,
    page: int,
    per_page: int,
    counted: bool = True,
    total: int | None = None,
) -> paging.Page[Any]:
    """One page of a queue — rows of the task's columns with those `with_case` adds — and
    the queue's length: `total` when the caller counted it already,
    else counted when the page does not tell it (a lower bound unless `counted`).

    Without a text filter the page is cut from the task rows alone and only its rows meet
    their cases: joining first would look up the case of every row before a deep page."""
    shape, values = _shape_and_values(principal, filters, now=now)
    rows: Sequence[Any] = session.execute(
        _page_statement(shape), {**values, "limit": per_page, "offset": (page - 1) * per_page}
    ).all()
    if total is None:
        total = paging.total_after(len(rows), page=page, per_page=per_page)
    if total is None:
        total = (
            count(session, principal, filters, now=now)
            if counted
            else (page - 1) * per_page + len(rows)
        )
    return paging.Page(rows, page, per_page, total)


@functools.lru_cache(maxsize=256)
def _page_statement(shape: _Shape) -> Select[Any]:
    tasks = table_of(HumanTask)
    narrowed: Select[Any] = select(*tasks.c)
    if shape.text:  # the text filter reads the case: join before cutting
        narrowed = narrowed.outerjoin(CaseFile, CaseFile.instance_id == tasks.c.instance_id)
    if shape.queue == "done":
        order = (HumanTask.completed_at.desc(), HumanTask.id.desc())
    else:
        order = _open_order(HumanTask.due_at, HumanTask.id, shape.sort)
    cut = (
        narrowed.where(*_conditions(shape))
        .order_by(*order)
        .limit(bindparam("limit", type_=Integer))
        .offset(bindparam("offset", type_=Integer))
        .subquery("page")
    )
    ordered = (
        (cut.c.completed_at.desc(), cut.c.id.desc())
        if shape.queue == "done"
        else _open_order(cut.c.due_at, cut.c.id, shape.sort)
    )
    return with_case(select(cut), cut).order_by(*ordered)


def with_case(query: Select[Any], tasks: Any) -> Select[Any]:
    """`query` over task rows (`tasks`: the table, or a page cut from it) with what a view of
    them reads besides: the case's id, number, subject and title, what authorization reads of
    it (case_cadre_id, appealed_case_id), and the names of the task's unit and process (the
    newest version's) — each a key lookup for the rows already chosen."""
    return (
        query.add_columns(
            CaseFile.id.label("case_id"),
            CaseFile.number.label("case_number"),
            CaseFile.subject_name.label("subject_name"),
            CaseFile.title.label("case_title"),
            CaseFile.cadre_id.label("case_cadre_id"),
            Appeal.original_case_id.label("appealed_case_id"),
            OrgUnit.name.label("org_unit_name"),
            versions.newest_name(tasks).label("process_name"),
        )
        .outerjoin(CaseFile, CaseFile.instance_id == tasks.c.instance_id)
        .outerjoin(Appeal, Appeal.case_id == CaseFile.id)
        .outerjoin(OrgUnit, OrgUnit.code == tasks.c.org_unit)
    )


def count(session: Session, principal: Principal, filters: Filters, *, now: datetime) -> int:
    """How many tasks one queue holds, counted on the task rows (the case only for the text filter)."""
    shape, values = _shape_and_values(principal, filters, now=now)
    return int(session.execute(_count_statement(shape), values).scalar_one())


def counts(
    session: Session, principal: Principal, queues: Sequence[str], *, now: datetime
) -> dict[str, int]:
    """The lengths of whole queues (no filter), in one statement: each counted on its own
    index (the assignee's for 我的待办, the role's and unit's for 本岗位待办)."""
    if not queues:
        return {}
    shaped = [_shape_and_values(principal, Filters(queue=queue), now=now) for queue in queues]
    values: dict[str, Any] = {}
    for _shape, found in shaped:
        values.update(found)
    row = session.execute(
        _counts_statement(tuple(queues), tuple(shape for shape, _ in shaped)), values
    ).one()
    return {queue: int(row._mapping[queue]) for queue in queues}


@functools.lru_cache(maxsize=256)
def _count_statement(shape: _Shape) -> Select[Any]:
    return select(func.count()).select_from(_counted(shape).subquery())


@functools.lru_cache(maxsize=64)
def _counts_statement(queues: tuple[str, ...], shapes: tuple[_Shape, ...]) -> Select[Any]:
    return select(
        *(
            _counted(shape).with_only_columns(func.count()).scalar_subquery().label(queue)
            for queue, shape in zip(queues, shapes, strict=True)
        )
    )


def _counted(shape: _Shape) -> Select[Any]:
    narrowed: Select[Any] = select(HumanTask.id)
    if shape.text:
        narrowed = narrowed.outerjoin(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
    return narrowed.where(*_conditions(shape))
