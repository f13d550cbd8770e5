"""督查 (§20 跟踪问效): open, due-soon and overdue work in the units a supervisor sees.

Overdue is an open task past its due date, or an open escalation (督办): a task of the
supervisor's lane without a due date, which a case's deadline timer created when it
fired. Such a case is overdue although the timer cancelled the task that missed the
deadline, so the escalation stands for it in every count and list. Queries read the
human-task projection only. The aging of overdue work counts it in buckets of working
days overdue (1–3, 4–7, 8–15, 16–30, more than 30), counted as in the overdue list
(逾期 N 个工作日 from the original due date).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Integer, Select, case, func, select
from sqlalchemy.orm import Session

from workflows import access, paging
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.engine import functions, time_limits
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, Instance, ProcessVersion, UTCDateTime
from workflows.org import people
from workflows.org import service as org
from workflows.org.models import OrgUnit
from workflows.roles import ESCALATION_ROLE, ROLES
from workflows.tasks import queues
from workflows.tasks import service as work
from workflows.tasks import views as task_views
from workflows.tasks.models import ESCALATION, TaskUrge

OLDEST = 10
_DAY = 86_400
#: Aging buckets (逾期时长): (low, high) working days overdue, both inclusive; None = no upper bound.
AGING_BUCKETS: tuple[tuple[int, int | None], ...] = ((1, 3), (4, 7), (8, 15), (16, 30), (31, None))


@dataclass(frozen=True)
class Filters:
    org_unit: str | None = None  # the unit and the units below it
    process: str | None = None
    role: str | None = None


@dataclass(frozen=True)
class Counts:
    key: str
    name: str
    open: int
    due_soon: int
    overdue: int


@dataclass(frozen=True)
class OverdueTask:
    """An overdue task or open escalation as the supervisor's list shows it, with what the
    principal may do about it (urge 催办, escalate 督办上报: the rules the writes apply)."""

    task_id: int
    task: str
    element: str
    escalation: bool
    process: str
    process_name: str
    role: str | None
    role_name: str | None
    org_unit: str | None
    org_unit_name: str | None
    assignee: str | None
    due_at: datetime | None
    overdue_since: datetime
    days_overdue: int
    case_id: int | None
    case_number: str | None
    cadre_id: int | None
    subject_name: str | None
    urge_count: int  # 催办, 督办上报 included
    escalations: int  # 督办上报
    last_urged_at: datetime | None
    last_urged_by: str | None
    actions: tuple[str, ...]  # "urge", "escalate"
    assignee_name: str | None = None  # the holder by name (姓名（单位·岗位）)
    due_basis: str | None = None
    workdays_overdue: int = 0  # 逾期 N 个工作日, from the original due date
    supervision_due_at: datetime | None = None  # 督办期限, when an escalation set one
    supervision_overdue: bool = False
    last_urged_by_name: str | None = None  # 姓名（单位·岗位）


@dataclass(frozen=True)
class AgingBucket:
    key: str  # "1-3", "4-7", …, "31-"
    low: int
    high: int | None
    name: str
    overdue: int


@dataclass(frozen=True)
class Summary:
    now: datetime
    due_soon_before: datetime
    total: Counts
    by_org_unit: list[Counts] = field(default_factory=list)
    by_process: list[Counts] = field(default_factory=list)
    by_role: list[Counts] = field(default_factory=list)
    oldest_overdue: list[OverdueTask] = field(default_factory=list)
    aging: list[AgingBucket] = field(default_factory=list)


def is_escalation() -> ColumnElement[bool]:
    """An escalation (督办) task: the supervisor's lane, no due date of its own."""
    return (HumanTask.role == ESCALATION_ROLE) & HumanTask.due_at.is_(None)


def is_overdue(now: datetime) -> ColumnElement[bool]:
    return (HumanTask.due_at < now) | is_escalation()


def _flag(condition: ColumnElement[bool]) -> Any:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0).cast(Integer)


def summary(session: Session, *, principal: Principal, clock: Clock) -> Summary:
    """Open, due-soon and overdue counts by org unit, process and role in the principal's
    units, with the oldest overdue tasks; Forbidden unless a supervisor or administrator."""
    access.check_may_supervise(principal)
    now = clock.now()
    soon = queues.due_soon_limit(session, clock)
    due_soon = (HumanTask.due_at >= now) & (HumanTask.due_at < soon)
    measures = (
        func.count().label("open"),
        _flag(due_soon).label("due_soon"),
        _flag(is_overdue(now)).label("overdue"),
    )
    base = select(*measures).where(HumanTask.state == "open", access.task_scope(principal))

    def grouped(column: Any, names: dict[str, str]) -> list[Counts]:
        rows = session.execute(base.add_columns(column).group_by(column).order_by(column)).all()
        return [
            Counts(
                key=row[3] or "",
                name=names.get(row[3] or "", row[3] or "未指定"),
                open=row.open,
                due_soon=row.due_soon,
                overdue=row.overdue,
            )
            for row in rows
        ]

    total = session.execute(base).one()
    unit_names = {code: name for code, name in session.execute(select(OrgUnit.code, OrgUnit.name))}
    oldest = list(
        overdue(
            session,
            principal=principal,
            clock=clock,
            filters=Filters(),
            page=1,
            per_page=OLDEST,
            count=False,
        ).items
    )
    return Summary(
        now=now,
        due_soon_before=soon,
        total=Counts(
            key="", name="合计", open=total.open, due_soon=total.due_soon, overdue=total.overdue
        ),
        by_org_unit=grouped(HumanTask.org_unit, unit_names),
        by_process=grouped(HumanTask.process_key, task_views.process_names(session)),
        by_role=grouped(HumanTask.role, ROLES),
        oldest_overdue=oldest,
        aging=aging(session, principal=principal, clock=clock),
    )


def aging(session: Session, *, principal: Principal, clock: Clock) -> list[AgingBucket]:
    """How many overdue steps and escalations in the principal's units fall in each bucket of
    working days overdue (AGING_BUCKETS, 逾期 N 个工作日 as in `overdue`); Forbidden unless a
    supervisor or admin. One grouped read: overdue steps share few distinct due moments."""
    access.check_may_supervise(principal)
    now = clock.now()
    since = func.coalesce(HumanTask.due_at, HumanTask.created_at, type_=UTCDateTime)
    rows = session.execute(
        select(since, func.count())
        .where(HumanTask.state == "open", access.task_scope(principal), is_overdue(now))
        .group_by(since)
    ).all()
    calendar = functions.LazyCalendar(session)
    counts = [0] * len(AGING_BUCKETS)
    for moment, n in rows:
        days = time_limits.overdue_workdays(moment, now, calendar, clock)
        for i, (low, high) in enumerate(AGING_BUCKETS):
            if days >= low and (high is None or days <= high):
                counts[i] += n
                break
    return [
        AgingBucket(
            key=f"{low}-{high or ''}",
            low=low,
            high=high,
            name=f"{low}–{high} 个工作日" if high else f"{low - 1} 个工作日以上",
            overdue=counts[i],
        )
        for i, (low, high) in enumerate(AGING_BUCKETS)
    ]


def overdue(
    session: Session,
    *,
    principal: Principal,
    clock: Clock,
    filters: Filters,
    page: int,
    per_page: int,
    count: bool = True,
) -> paging.Page[OverdueTask]:
    """One page of overdue tasks and escalations in the principal's units, oldest first,
    with case, cadre, urges (催办) and what the principal may do, and the total (a lower
    bound unless `count`); Forbidden unless a supervisor or admin."""
    access.check_may_supervise(principal)
    now = clock.now()
    query = _overdue_rows(session, principal, filters, now)
    if count:
        found = paging.paginate(session, query, page=page, per_page=per_page, key=HumanTask.id)
    else:
        rows = session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
        found = paging.Page(rows, page, per_page, (page - 1) * per_page + len(rows))
    urges = _urges(session, [row.HumanTask.id for row in found.items])
    names = people.labels(
        session,
        [
            *(row.HumanTask.assignee for row in found.items),
            *(seen.last_by for seen in urges.values()),
        ],
    )
    calendar = functions.LazyCalendar(session)
    return found.map(
        lambda row: _item(
            row, now, principal, urges.get(row.HumanTask.id, _NO_URGES), calendar, clock, names
        )
    )


def _overdue_rows(
    session: Session, principal: Principal, filters: Filters, now: datetime
) -> Select[Any]:
    since = func.coalesce(HumanTask.due_at, HumanTask.created_at)
    query: Select[Any] = cast(
        Select[Any],
        (
            select(
                HumanTask,
                CaseFile.id.label("case_id"),
                CaseFile.number.label("case_number"),
                CaseFile.cadre_id.label("cadre_id"),
                CaseFile.subject_name.label("subject_name"),
                ProcessVersion.name.label("process_name"),
                OrgUnit.name.label("org_unit_name"),
            )
            .join(Instance, Instance.id == HumanTask.instance_id)
            .join(ProcessVersion, ProcessVersion.id == Instance.process_version_id)
            .outerjoin(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
            .outerjoin(OrgUnit, OrgUnit.code == HumanTask.org_unit)
            .where(HumanTask.state == "open", access.task_scope(principal), is_overdue(now))
            .order_by(since, HumanTask.id)
        ),
    )
    if filters.org_unit:
        units = set(org.subtree(session, filters.org_unit)) & principal.units
        query = query.where(HumanTask.org_unit.in_(sorted(units)))
    if filters.process:
        query = query.where(HumanTask.process_key == filters.process)
    if filters.role:
        query = query.where(HumanTask.role == filters.role)
    return query


@dataclass(frozen=True)
class _Urges:
    count: int = 0
    escalations: int = 0
    last_at: datetime | None = None
    last_by: str | None = None


_NO_URGES = _Urges()


def _item(
    row: Any,
    now: datetime,
    principal: Principal,
    urges: _Urges,
    calendar: Any,
    clock: Clock,
    names: people.Labels,
) -> OverdueTask:
    task: HumanTask = row.HumanTask
    since = task.due_at or task.created_at
    actions = tuple(
        action
        for action, refusal in (
            ("urge", work.urge_refusal(principal, task)),
            ("escalate", work.escalate_refusal(principal, task, now=now)),
        )
        if refusal is None
    )
    return OverdueTask(
        task_id=task.id,
        task=task.name,
        element=task.task_spec,
        escalation=task.due_at is None,
        process=task.process_key,
        process_name=row.process_name,
        role=task.role,
        role_name=ROLES.get(task.role or "", task.role),
        org_unit=task.org_unit,
        org_unit_name=row.org_unit_name,
        assignee=task.assignee,
        due_at=task.due_at,
        overdue_since=since,
        days_overdue=max(1, math.ceil((now - since).total_seconds() / _DAY)),
        case_id=row.case_id,
        case_number=row.case_number,
        cadre_id=row.cadre_id,
        subject_name=row.subject_name,
        urge_count=urges.count,
        escalations=urges.escalations,
        last_urged_at=urges.last_at,
        last_urged_by=urges.last_by,
        actions=actions,
        assignee_name=names.of(task.assignee),
        last_urged_by_name=names.of(urges.last_by),
        due_basis=task.due_basis,
        workdays_overdue=time_limits.overdue_workdays(task.due_at, now, calendar, clock),
        supervision_due_at=task.supervision_due_at,
        supervision_overdue=task.supervision_due_at is not None and task.supervision_due_at <= now,
    )


def _urges(session: Session, task_ids: list[int]) -> dict[int, _Urges]:
    """The urges of these tasks: how many, how many escalations, the latest's when and who."""
    if not task_ids:
        return {}
    escalation = TaskUrge.kind == ESCALATION
    rows = session.execute(
        select(TaskUrge.task_id, TaskUrge.urged_by, TaskUrge.created_at, escalation)
        .where(TaskUrge.task_id.in_(sorted(set(task_ids))))
        .order_by(TaskUrge.created_at, TaskUrge.id)
    )
    found: dict[int, _Urges] = {}
    for task_id, urged_by, created_at, escalated in rows:
        seen = found.get(task_id, _NO_URGES)
        found[task_id] = _Urges(
            seen.count + 1, seen.escalations + (1 if escalated else 0), created_at, urged_by
        )
    return found
