"""待办的读取面: tasks as the API dumps them, the pages render them and the CLI prints them.

A `TaskView` is one queue row: its process, role and unit already named, its overdue and
due-soon marks set, and the `actions` the principal may take on it — computed by the rules
that guard the writes (`access.work_refusal` and the refusals of workflows/tasks/service.py),
so a button is shown exactly when the server would accept its press. A `TaskDetailView` is
one task with its form, the data that prefills it and what earlier steps recorded.

Queue pages come from the indexed queue path (`queues.page`): the page is cut from the task
rows, then only its rows meet their cases. Actions cost no query per row: the rules read the
row's own columns; only a held task (did the process name its assignee?) and an appeal's
task (who handled the original case?) ask the database, once per page and once per appeal.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select
from sqlalchemy.orm import Session

from workflows import access, paging
from workflows.access import Principal, TaskFacts
from workflows.cases.models import Appeal, CaseFile
from workflows.engine import spiff, time_limits, versions
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, Instance, ProcessVersion, TaskAlarm, table_of
from workflows.errors import NotFound
from workflows.messages import t
from workflows.org import people
from workflows.roles import ROLES
from workflows.tasks import (
    completion,
    consultation_views,
    details,
    going_back,
    notifications,
    queues,
)
from workflows.tasks import service as work
from workflows.tasks.details import RecordedStep
from workflows.tasks.models import Notification, TaskComment, TaskUrge

CLAIM, UNCLAIM, DELEGATE, TRANSFER = "claim", "unclaim", "delegate", "transfer"
COMPLETE, URGE, ESCALATE, COMMENT = "complete", "urge", "escalate", "comment"
CONSULT, COPY = "consult", "copy"  # 加签, 抄送: whoever may complete the step
#: What a principal may do to a task, in the order the pages offer it.
ACTIONS = (CLAIM, UNCLAIM, DELEGATE, TRANSFER, COMPLETE, CONSULT, COPY, URGE, ESCALATE, COMMENT)
#: Whom a delegation or transfer may go to: at most this many are offered.
COLLEAGUES_MAX = 50


@dataclass(frozen=True)
class TaskView:
    """A task as a list shows it: named, marked, with what the principal may do to it."""

    id: int
    instance_id: int
    name: str
    task_spec: str  # the BPMN element id
    process_key: str
    process_name: str | None
    role: str | None
    role_name: str | None
    org_unit: str | None
    org_unit_name: str | None  # None for a unit not known
    assignee: str | None
    assignee_name: str | None  # the assignee as people see them: 姓名（单位·岗位）
    owner: str | None  # who delegated it to the assignee (委派人)
    owner_name: str | None
    state: str  # open / completed / cancelled
    created_at: datetime
    due_at: datetime | None
    due_basis: str | None
    #: when the 临期提醒 will come: its pending alarm (None once sent, or without a reminder)
    remind_at: datetime | None
    overdue: bool
    due_soon: bool
    completed_at: datetime | None
    completed_by: str | None
    completed_by_name: str | None
    case_id: int | None
    case_number: str | None
    subject_name: str | None
    case_title: str | None
    actions: tuple[str, ...]  # a subset of ACTIONS, in their order

    def may(self, action: str) -> bool:
        return action in self.actions


@dataclass(frozen=True)
class TaskDetailView(TaskView):
    """One task as its page needs it: the list's view, its form (JSON Schema and UI schema),
    the data that prefills it, whether and why not the principal may complete it, and what
    the case's earlier steps recorded (办理记录)."""

    form: str | None
    form_schema: Mapping[str, Any] | None
    ui_schema: Mapping[str, Any] | None
    data: Mapping[str, Any]
    may_complete: bool
    why_not: str | None
    documentation: str | None
    assignee_fixed: bool  # the process named the assignee (assigneeFrom): nobody reassigns it
    recorded: tuple[RecordedStep, ...]
    #: 退回: the steps this open task may be sent back to (empty if the principal may not)
    return_targets: tuple[going_back.Target, ...] = ()
    #: 撤回: why the principal may not take this completed step back (None when they may)
    withdraw_refusal: str | None = None
    #: the 退回/撤回 that opened this step again, with its reason
    reopened_by: going_back.Record | None = None
    consultations: tuple[consultation_views.ConsultationView, ...] = ()  # 加签, oldest first
    copies: tuple[consultation_views.CopyView, ...] = ()  # 抄送, oldest first

    @property
    def may_withdraw(self) -> bool:
        return self.state == "completed" and self.withdraw_refusal is None


@dataclass(frozen=True)
class TaskForm:
    """What a posted answer to a task is read against before its write: the form, and the
    names the messages about it use."""

    id: int
    name: str
    case_number: str | None
    form_schema: Mapping[str, Any] | None
    ui_schema: Mapping[str, Any] | None


@dataclass(frozen=True)
class CompletedView:
    """A completion as its caller sees it: who completed the task when, where the instance
    stands, and the case's next tasks the principal sees."""

    id: int
    completed_at: datetime
    completed_by: str
    completed_by_name: str
    instance_status: str
    case_id: int | None
    next_tasks: tuple[TaskView, ...]


@dataclass(frozen=True)
class CommentView:
    """A comment (评论) on a task, its author named."""

    id: int
    task_id: int
    author: str
    author_name: str  # 姓名（单位·岗位）
    body: str
    created_at: datetime


@dataclass(frozen=True)
class UrgeView:
    """A 催办 or 督办上报 on a task, who urged it named."""

    id: int
    task_id: int
    urged_by: str
    urged_by_name: str  # 姓名（单位·岗位）
    note: str
    created_at: datetime
    kind: str  # urge, escalation


@dataclass(frozen=True)
class NotificationView:
    """One in-app notice (站内通知) to the principal, its kind named."""

    id: int
    kind: str  # notifications.KINDS
    kind_name: str
    title: str
    body: str
    task_id: int | None
    case_id: int | None
    created_at: datetime
    read_at: datetime | None


@dataclass(frozen=True)
class NoticePage(paging.Page[NotificationView]):
    """A page of the principal's notices, with how many of all their notices are unread."""

    unread: int


_VIEW_FIELDS = tuple(f.name for f in fields(TaskView))


# -- lists ---------------------------------------------------------------------------------


def queue_page(
    session: Session,
    principal: Principal,
    filters: queues.Filters,
    *,
    clock: Clock,
    page: int,
    per_page: int,
    total: int | None = None,
) -> paging.Page[TaskView]:
    """One page of a queue (我的待办, 本岗位待办, 已办) and its length, each task named and
    with the principal's actions. `total`, the queue's length when the caller counted it
    already (`queue_lengths`), saves counting it again."""
    now = clock.now()
    found = queues.page(
        session, principal, filters, now=now, page=page, per_page=per_page, total=total
    )
    return paging.Page(
        _views(session, principal, found.items, clock=clock, now=now),
        found.page,
        found.per_page,
        found.total,
    )


def queue_rows(
    session: Session, principal: Principal, filters: queues.Filters, *, clock: Clock, limit: int
) -> list[TaskView]:
    """Up to `limit` tasks of a queue from its start, named and marked, without actions: for
    an export, whose rows leave as a file with no button."""
    now = clock.now()
    found = queues.page(session, principal, filters, now=now, page=1, per_page=limit, counted=False)
    return _views(session, principal, found.items, clock=clock, now=now, with_actions=False)


def queue_lengths(
    session: Session, principal: Principal, *, clock: Clock, of: Sequence[str] = ("mine", "role")
) -> dict[str, int]:
    """How many tasks whole queues hold — by default 我的待办 (mine) and 本岗位待办 (role),
    the inbox's tabs — in one statement, each counted on its queue's own index."""
    return queues.counts(session, principal, of, now=clock.now())


def task_views(
    session: Session, principal: Principal, task_ids: Sequence[int], *, clock: Clock
) -> list[TaskView]:
    """These tasks in this order (ids not found left out), named, with the principal's
    actions — none on a task out of their sight: a case's tasks, for its page."""
    wanted = sorted({i for i in task_ids if 0 < i <= access.MAX_ID})
    if not wanted:
        return []
    found = {
        row.id: row
        for row in session.execute(_with_case(select(_TASKS)).where(_TASKS.c.id.in_(wanted)))
    }
    rows = [found[i] for i in task_ids if i in found]
    return _views(session, principal, rows, clock=clock, now=clock.now())


def task_list(
    session: Session,
    *,
    clock: Clock,
    role: str | None = None,
    org_unit: str | None = None,
    instance_id: int | None = None,
    open_only: bool = True,
) -> list[TaskView]:
    """Every task (open ones only, unless asked), by due date, undated last — whoever's they
    are: the command line's listing, run with the database's own rights, so without actions."""
    query = select(_TASKS)
    if open_only:
        query = query.where(_TASKS.c.state == "open")
    for column, value in (
        (_TASKS.c.role, role),
        (_TASKS.c.org_unit, org_unit),
        (_TASKS.c.instance_id, instance_id),
    ):
        if value:
            query = query.where(column == value)
    rows = session.execute(
        _with_case(query).order_by(_TASKS.c.due_at.is_(None), _TASKS.c.due_at, _TASKS.c.id)
    ).all()
    return _views(session, None, rows, clock=clock, now=clock.now(), with_actions=False)


def completed(
    session: Session, principal: Principal, result: completion.Completion, *, clock: Clock
) -> CompletedView:
    """A completion (`completion.complete`) and the open tasks it leaves the principal to see,
    named without a read of their own: their case, unit and process are the completed task's,
    as its facts read them with the lock."""
    facts = result.facts
    rows = [
        _Plain.of(
            row,
            case_id=facts.case_id,
            case_number=facts.case_number,
            subject_name=facts.subject_name,
            case_title=facts.case_title,
            case_cadre_id=facts.case_cadre_id,
            appealed_case_id=facts.appealed_case_id,
            process_name=facts.process_name,
            org_unit_name=facts.org_unit_name if row.org_unit == facts.org_unit else None,
        )
        for row in result.next_tasks
    ]
    done = result.done
    return CompletedView(
        id=done.id,
        completed_at=done.completed_at,
        completed_by=done.completed_by,
        completed_by_name=(
            principal.label  # read with the session: no statement under the write lock
            if principal.label is not None and done.completed_by == principal.username
            else people.label_of(session, done.completed_by)
        ),
        instance_status=done.instance_status,
        case_id=result.case_id,
        next_tasks=tuple(_views(session, principal, rows, clock=clock, now=clock.now())),
    )


# -- one task ------------------------------------------------------------------------------


def task_detail(
    session: Session, principal: Principal, task_id: int, *, clock: Clock
) -> TaskDetailView:
    """One task the principal may see (NotFound otherwise): the list's view, its form and the
    data that prefills it, whether and why not they may complete it, and what earlier steps
    of the case recorded."""
    found = _detail_row(session, principal, task_id)
    loaded = versions.load(session, found.process_version_id, found.content_hash)
    properties = loaded.properties(found.task_spec)
    is_open = found.state == "open"
    data: dict[str, Any] = {}
    if is_open:
        state = session.execute(
            select(Instance.state).where(Instance.id == found.instance_id)
        ).scalar_one()
        raw = spiff.view_state(state, data_of=[found.spiff_task_id]).task_data
        data = json.loads(
            json.dumps(raw.get(found.spiff_task_id, {}), default=str, ensure_ascii=False)
        )
    fixed = work.is_fixed(found, properties)
    [view] = _views(
        session,
        principal,
        [found],
        clock=clock,
        now=clock.now(),
        fixed={found.id} if fixed else set(),
    )
    asked = tuple(consultation_views.of_task(session, principal, found.id))
    if is_open:
        refused = access.work_refusal(session, principal, _facts(found))
        why_not = refused.message if refused is not None else None
        if (
            refused is not None
            and view.assignee_name
            and access.work_refusal(session, principal, _facts(found), ignore_assignment=True)
            is None
        ):  # held by someone else: say by whom, by name
            why_not = t("本任务已指定由%(holder)s办理，你不能办理", holder=view.assignee_name)
        if why_not is None and any(c.state == "open" for c in asked):
            # 加签: completing waits for the opinions (or the request's withdrawal).
            why_not = consultation_views.missing_refusal(session, found.id)
            view = replace(view, actions=tuple(a for a in view.actions if a != COMPLETE))
    else:
        why_not = t("任务已办结") if found.state == "completed" else t("任务已取消")
    ui_name = properties.get("formUiSchemaFilename")
    recorded = details.recorded_steps(session, task=found, forms=loaded.forms, data=data)
    return TaskDetailView(
        **{name: getattr(view, name) for name in _VIEW_FIELDS},
        form=found.form,
        form_schema=loaded.forms.get(found.form) if found.form else None,
        ui_schema=loaded.forms.get(ui_name) if ui_name else None,
        data=data,
        may_complete=why_not is None,
        why_not=why_not,
        documentation=properties.get("documentation"),
        assignee_fixed=fixed,
        recorded=tuple(recorded),
        return_targets=tuple(
            going_back.return_targets(session, principal=principal, task_id=found.id, clock=clock)
            if is_open and why_not is None
            else ()
        ),
        withdraw_refusal=(
            going_back.withdraw_refusal(session, principal=principal, task_id=found.id, clock=clock)
            if found.state == "completed" and found.completed_by == principal.username
            else None
            if found.state != "completed"
            else "只有办理人可以撤回"
        ),
        reopened_by=going_back.reopened_by(session, found.id),
        consultations=asked,
        copies=tuple(consultation_views.copies_of_task(session, principal, found.id)),
    )


def task_form(session: Session, principal: Principal, task_id: int) -> TaskForm:
    """The form a posted answer to the task is read against (NotFound when out of sight). No
    instance state is read and nothing is judged but sight: completion is the judge."""
    found = _detail_row(session, principal, task_id)
    loaded = versions.load(session, found.process_version_id, found.content_hash)
    ui_name = loaded.properties(found.task_spec).get("formUiSchemaFilename")
    return TaskForm(
        id=found.id,
        name=found.name,
        case_number=found.case_number,
        form_schema=loaded.forms.get(found.form) if found.form else None,
        ui_schema=loaded.forms.get(ui_name) if ui_name else None,
    )


def comments(session: Session, principal: Principal, task_id: int) -> list[CommentView]:
    """The comments of a task the principal may see (NotFound otherwise), oldest first, named."""
    return comment_views(session, work.comments_of(session, principal=principal, task_id=task_id))


def comment_views(session: Session, rows: Sequence[TaskComment]) -> list[CommentView]:
    """Comments already read, their authors named with one query."""
    names = people.labels(session, (row.author for row in rows))
    return [
        CommentView(row.id, row.task_id, row.author, names[row.author], row.body, row.created_at)
        for row in rows
    ]


def urges(session: Session, principal: Principal, task_id: int) -> list[UrgeView]:
    """The urges of a task the principal may see (NotFound otherwise), oldest first, named."""
    return urge_views(session, work.urges_of(session, principal=principal, task_id=task_id))


def urge_views(session: Session, rows: Sequence[TaskUrge]) -> list[UrgeView]:
    """Urges already read, who urged each named with one query."""
    names = people.labels(session, (row.urged_by for row in rows))
    return [
        UrgeView(
            row.id,
            row.task_id,
            row.urged_by,
            names[row.urged_by],
            row.note,
            row.created_at,
            row.kind,
        )
        for row in rows
    ]


def process_names(session: Session) -> dict[str, str]:
    """Each process key's name as its newest version calls it (the queues' process filter)."""
    return {key: name for key, name in session.execute(_PROCESS_NAMES)}


_PROCESS_NAMES = select(ProcessVersion.process_key, ProcessVersion.name).order_by(
    ProcessVersion.process_key, ProcessVersion.version
)


# -- notices -------------------------------------------------------------------------------


def notices(
    session: Session,
    principal: Principal,
    *,
    unread_only: bool = False,
    page: int = 1,
    per_page: int = 50,
) -> NoticePage:
    """One page of the principal's own notices, newest first (the unread ones only, if asked),
    with their length and the principal's unread count."""
    query = select(Notification).where(Notification.username == principal.username)
    if unread_only:
        query = query.where(Notification.read_at.is_(None))
    found = paging.paginate(
        session,
        query.order_by(Notification.id.desc()),
        page=page,
        per_page=per_page,
        key=Notification.id,
    )
    items = [_notice(row.Notification) for row in found.items]
    unread = notifications.unread_count(session, username=principal.username)
    return NoticePage(items, found.page, found.per_page, found.total, unread=unread)


def _notice(row: Notification) -> NotificationView:
    return NotificationView(
        id=row.id,
        kind=row.kind,
        kind_name=notifications.KINDS.get(row.kind, row.kind),
        title=row.title,
        body=row.body,
        task_id=row.task_id,
        case_id=row.case_id,
        created_at=row.created_at,
        read_at=row.read_at,
    )


# -- shaping -------------------------------------------------------------------------------

_TASKS, _CASES, _APPEALS = table_of(HumanTask), table_of(CaseFile), table_of(Appeal)
_INSTANCES, _VERSIONS = table_of(Instance), table_of(ProcessVersion)
_ALARMS = table_of(TaskAlarm)


def _with_case(query: Select[Any]) -> Select[Any]:
    """`query` over the task table, with the columns of its case and the names `_views` reads."""
    return queues.with_case(query, _TASKS)


def _detail_row(session: Session, principal: Principal, task_id: int) -> Any:
    """The task with its case and its version, if the principal may see it (NotFound otherwise)."""
    row = None
    if 0 < task_id <= access.MAX_ID:
        row = session.execute(
            _with_case(select(_TASKS))
            .add_columns(_INSTANCES.c.process_version_id, _VERSIONS.c.content_hash)
            .join(_INSTANCES, _INSTANCES.c.id == _TASKS.c.instance_id)
            .join(_VERSIONS, _VERSIONS.c.id == _INSTANCES.c.process_version_id)
            .where(_TASKS.c.id == task_id)
        ).first()
    if row is None or not _visible(principal, row):
        raise NotFound(t("任务 %(task_id)s 不存在", task_id=task_id))
    return row


def _visible(principal: Principal, row: Any) -> bool:
    """`access.task_scope` on a row already read (the same rule, kept in step by access)."""
    return access.task_visible(
        principal, role=row.role, org_unit=row.org_unit, case_cadre_id=row.case_cadre_id
    )


def _facts(row: Any) -> TaskFacts:
    return TaskFacts(
        id=row.id,
        instance_id=row.instance_id,
        role=row.role,
        org_unit=row.org_unit,
        assignee=row.assignee,
        state=row.state,
        case_id=row.case_id,
        case_number=row.case_number,
        case_cadre_id=row.case_cadre_id,
        appealed_case_id=row.appealed_case_id,
    )


def _views(
    session: Session,
    principal: Principal | None,
    rows: Sequence[Any],
    *,
    clock: Clock,
    now: datetime,
    with_actions: bool = True,
    fixed: set[int] | None = None,
) -> list[TaskView]:
    """Rows of the task table with the columns `queues.with_case` adds as views (no
    principal: no actions)."""
    if not rows:
        return []
    dated = any(row.state == "open" and row.due_at is not None for row in rows)
    soon = queues.due_soon_limit(session, clock) if dated else now
    with_actions = with_actions and principal is not None
    if with_actions and fixed is None and principal is not None:
        fixed = _fixed(session, principal, rows)
    names = people.labels(
        session, (name for row in rows for name in (row.assignee, row.owner, row.completed_by))
    )
    reminders = _reminders(session, rows) if dated else {}
    views = []
    for row in rows:
        is_open = row.state == "open"
        overdue = is_open and row.due_at is not None and row.due_at < now
        views.append(
            TaskView(
                id=row.id,
                instance_id=row.instance_id,
                name=row.name,
                task_spec=row.task_spec,
                process_key=row.process_key,
                process_name=row.process_name or row.process_key,
                role=row.role,
                role_name=ROLES.get(row.role or "", row.role),
                org_unit=row.org_unit,
                org_unit_name=row.org_unit_name,
                assignee=row.assignee,
                assignee_name=names.of(row.assignee),
                owner=row.owner,
                owner_name=names.of(row.owner),
                state=row.state,
                created_at=row.created_at,
                due_at=row.due_at,
                due_basis=row.due_basis,
                remind_at=reminders.get((row.instance_id, row.spiff_task_id)) if is_open else None,
                overdue=overdue,
                due_soon=is_open and row.due_at is not None and now <= row.due_at < soon,
                completed_at=row.completed_at,
                completed_by=row.completed_by,
                completed_by_name=names.of(row.completed_by),
                case_id=row.case_id,
                case_number=row.case_number,
                subject_name=row.subject_name,
                case_title=row.case_title,
                actions=(
                    _actions(session, principal, row, now=now, fixed=row.id in (fixed or ()))
                    if with_actions and principal is not None
                    else ()
                ),
            )
        )
    return views


def _reminders(session: Session, rows: Sequence[Any]) -> dict[tuple[int, str], datetime]:
    """The pending 临期提醒 of the rows' instances, by (instance, engine task): one query."""
    instances = sorted({row.instance_id for row in rows if row.state == "open"})
    found = session.execute(_REMINDERS, {"instances": instances})
    return {(iid, sid): at for iid, sid, at in found}


_REMINDERS = select(_ALARMS.c.instance_id, _ALARMS.c.spiff_task_id, _ALARMS.c.fire_at).where(
    _ALARMS.c.kind == time_limits.REMIND,
    _ALARMS.c.instance_id.in_(bindparam("instances", expanding=True)),
)


def _actions(
    session: Session, principal: Principal, row: Any, *, now: datetime, fixed: bool
) -> tuple[str, ...]:
    """What the principal may do to the task of `row`, by the rules the writes apply."""
    if row.state != "open" or not _visible(principal, row):
        return ()
    me = principal.username
    facts = _facts(row)
    may_work = access.work_refusal(session, principal, facts, ignore_assignment=True)
    held_by_other = bool(row.assignee) and row.assignee != me
    free = not row.assignee and me != row.owner
    found: list[str] = []
    if may_work is None and not row.assignee and work.claim_refusal(principal, row) is None:
        found.append(CLAIM)
    if work.unclaim_refusal(principal, row, fixed=fixed) is None:
        found.append(UNCLAIM)
    if (
        work.reassign_refusal(
            principal, row, verb="委派", work=may_work if free else None, fixed=fixed
        )
        is None
    ):
        found += [DELEGATE, TRANSFER]
    # Completing asks the assignment too: a task someone else holds is refused at that rule,
    # before any query; otherwise the answer is the one just read.
    may_complete = (
        access.work_refusal(session, principal, facts)
        if held_by_other and may_work is None
        else may_work
    )
    if may_complete is None:  # 加签 and 抄送 are the holder's, as completing is
        found += [COMPLETE, CONSULT, COPY]
    if work.urge_refusal(principal, row) is None:  # escalating is urging overdue work
        found.append(URGE)
        if work.escalate_refusal(principal, row, now=now) is None:
            found.append(ESCALATE)
    found.append(COMMENT)
    return tuple(found)


def _fixed(session: Session, principal: Principal, rows: Sequence[Any]) -> set[int]:
    """The ids of the open tasks among `rows` the principal holds (or delegated) whose
    assignee their process named (assigneeFrom): they may not release or reassign them."""
    held = [
        row
        for row in rows
        if row.state == "open" and row.assignee and principal.username in (row.assignee, row.owner)
    ]
    if not held:
        return set()
    found = session.execute(
        select(_INSTANCES.c.id, _INSTANCES.c.process_version_id, _VERSIONS.c.content_hash)
        .join(_VERSIONS, _VERSIONS.c.id == _INSTANCES.c.process_version_id)
        .where(_INSTANCES.c.id.in_(sorted({row.instance_id for row in held})))
    )
    version_of = {iid: (version_id, content_hash) for iid, version_id, content_hash in found}
    return {
        row.id
        for row in held
        if row.instance_id in version_of
        and work.is_fixed(
            row, versions.load(session, *version_of[row.instance_id]).properties(row.task_spec)
        )
    }


@dataclass(frozen=True)
class _Plain:
    """A task row (the task table's columns) with case columns given, not read."""

    id: int
    instance_id: int
    spiff_task_id: str
    name: str
    task_spec: str
    process_key: str
    role: str | None
    org_unit: str | None
    assignee: str | None
    owner: str | None
    state: str
    created_at: datetime
    due_at: datetime | None
    due_basis: str | None
    completed_at: datetime | None
    completed_by: str | None
    case_id: int | None
    case_number: str | None
    subject_name: str | None
    case_title: str | None
    case_cadre_id: int | None
    appealed_case_id: int | None
    process_name: str | None
    org_unit_name: str | None

    @classmethod
    def of(cls, row: Any, **case: Any) -> _Plain:
        own = {name: getattr(row, name) for name in _PLAIN_TASK_COLUMNS}
        return cls(**own, **case)


_PLAIN_TASK_COLUMNS = (
    "id",
    "instance_id",
    "spiff_task_id",
    "name",
    "task_spec",
    "process_key",
    "role",
    "org_unit",
    "assignee",
    "owner",
    "state",
    "created_at",
    "due_at",
    "due_basis",
    "completed_at",
    "completed_by",
)
