"""Work on an open task besides completing it: claim (认领), unclaim (退回), delegate (委派),
transfer (转办), urge (催办), escalate (督办上报) and comments (评论).

They change only who holds the task (`human_task.assignee` and `owner`): the one
documented exception to "only `instances.advance` writes human tasks" — the instance's
state is untouched. Each takes the instance lock first, the lock a completion takes, and
reads the task again under it, so an action and a completion of one task never cross.
A delegated task keeps its owner (委派人), who may take it back; a transferred one
belongs to its new assignee alone. An assignee named by the process (`assigneeFrom`,
e.g. an appeal's reviewer) is fixed: the rules of the task itself depend on it.

督办上报 is the supervisor's stronger urge, for overdue work only: besides whoever owes
the task, the party committee (党委(党组)) of the task's unit, which answers for its
unit's work, and the supervisors of the unit above the supervisor's own (上报) are told.
It is stored as an urge of kind 'escalation' whose note starts with ESCALATION_MARK, so it
counts and shows wherever urges do; the audit row (`task.escalate`) names everyone told.
A plain urge's note may not start with the mark.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.engine import audit, instances, time_limits, versions
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask
from workflows.errors import (
    Conflict,
    DomainError,
    Forbidden,
    NotFound,
    TaskAlreadyCompleted,
    ValidationFailed,
)
from workflows.messages import t
from workflows.org import people
from workflows.org.models import OrgUnit, User
from workflows.roles import ESCALATION_ROLE, ROLES
from workflows.tasks import deadlines, notifications
from workflows.tasks.models import ESCALATION, URGE, TaskComment, TaskUrge

NOTE_MAX = 1000
COMMENT_MAX = 2000
URGING_ROLES = frozenset({"supervisor"})
#: The start of an escalation's note (督办上报); the rest is the supervisor's own words.
ESCALATION_MARK = "【督办上报】"
#: Whom an escalation tells besides those who owe the task: the unit's party committee.
ESCALATION_COMMITTEE_ROLE = "committee"


@dataclass(frozen=True)
class Escalation:
    urge: TaskUrge
    notified: list[str]  # usernames, sorted
    supervision_due_at: datetime | None = None  # 督办期限, when one was set


def claim(session: Session, *, principal: Principal, task_id: int, clock: Clock) -> HumanTask:
    """The open task is held by the principal, who may work it; Conflict names who holds it otherwise."""
    task, _locked = _open_task(session, principal, task_id)
    access.check_may_complete(session, principal, task, ignore_assignment=True)
    _refuse(claim_refusal(principal, task, holder=people.label(session, task.assignee)))
    if task.assignee == principal.username:
        return task  # already theirs: nothing to change
    task.assignee, task.owner = principal.username, None
    _record(session, principal, task, "task.claim", clock, assignee=principal.username)
    return task


def unclaim(session: Session, *, principal: Principal, task_id: int, clock: Clock) -> HumanTask:
    """The task is back in its role's queue, released by its assignee or by the owner who delegated it."""
    task, locked = _open_task(session, principal, task_id)
    _refuse(
        unclaim_refusal(
            principal,
            task,
            fixed=_fixed(session, locked, task),
            holder=people.label(session, task.assignee),
        )
    )
    released = {"assignee": task.assignee, "owner": task.owner}
    task.assignee, task.owner = None, None
    _record(session, principal, task, "task.unclaim", clock, released=released)
    return task


def delegate(
    session: Session, *, principal: Principal, task_id: int, username: str, clock: Clock
) -> HumanTask:
    """委派: the task goes to an eligible colleague; its owner (who delegated) may take it back."""
    return _reassign(
        session,
        principal=principal,
        task_id=task_id,
        username=username,
        clock=clock,
        keep_owner=True,
    )


def transfer(
    session: Session, *, principal: Principal, task_id: int, username: str, clock: Clock
) -> HumanTask:
    """转办: the task goes to an eligible colleague outright, with no owner left."""
    return _reassign(
        session,
        principal=principal,
        task_id=task_id,
        username=username,
        clock=clock,
        keep_owner=False,
    )


def urge(
    session: Session, *, principal: Principal, task_id: int, note: str, clock: Clock
) -> TaskUrge:
    """催办 by a supervisor over the task's org unit: recorded with its note, and whoever owes the task is told."""
    task, _locked = _open_task(session, principal, task_id)
    _refuse(urge_refusal(principal, task))
    text = _text(note, field="note", limit=NOTE_MAX, what="催办说明")
    if text.startswith(ESCALATION_MARK):
        message = t(
            "催办说明不能以“%(mark)s”开头：逾期任务请用督办上报",
            mark=ESCALATION_MARK,
        )
        raise ValidationFailed(message, [{"field": "note", "message": message}])
    row = _add_urge(session, principal, task, text, clock)
    case = _case_of(session, task)
    told = notifications.recipients(session, task_id=task.id)
    _tell(
        session,
        told,
        title=f"催办：{task.name}{_where(case)}",
        body=f"{people.label(session, principal.username)}：{text}",
        task=task,
        case=case,
        clock=clock,
    )
    _record(session, principal, task, "task.urge", clock, urge_id=row.id, note=text, notified=told)
    return row


def escalate(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    note: str,
    clock: Clock,
    until: date | None = None,
) -> Escalation:
    """督办上报 of an overdue task by a supervisor over its unit: recorded as a marked urge, and
    whoever owes the task, the unit's party committee and the supervisors one level up are told.
    `until` sets a 督办期限 (the end of that day), shown beside the original due date; when it
    passes, the holder is told again. The step stays with its holder throughout."""
    task, _locked = _open_task(session, principal, task_id)
    _refuse(escalate_refusal(principal, task, now=clock.now()))
    text = _text(note, field="note", limit=NOTE_MAX - len(ESCALATION_MARK), what="督办说明")
    limit_at = None
    if until is not None:
        if until < clock.today():
            message = t(
                "督办期限不得早于今天（%(today)s）：所填为 %(until)s",
                today=clock.today(),
                until=until,
            )
            raise ValidationFailed(message, [{"field": "until", "message": message}])
        limit_at = time_limits.end_of(until, clock)
        deadlines.schedule_supervision(session, task=task, until=limit_at)
        text = f"{text}（督办期限 {until.isoformat()}）"
    row = _add_urge(session, principal, task, ESCALATION_MARK + text, clock, kind=ESCALATION)
    case = _case_of(session, task)
    parent = session.execute(
        select(OrgUnit.parent_code).where(OrgUnit.code == principal.org_unit)
    ).scalar()
    above = _active_users(session, role="supervisor", org_unit=parent)
    committee = _active_users(session, role=ESCALATION_COMMITTEE_ROLE, org_unit=task.org_unit)
    owing = notifications.recipients(session, task_id=task.id)
    told = sorted((set(owing) | set(committee) | set(above)) - {principal.username})
    _tell(
        session,
        told,
        title=f"督办：{task.name}{_where(case)}已逾期",
        body=f"{people.label(session, principal.username)}督办上报：{text}",
        task=task,
        case=case,
        clock=clock,
    )
    _record(
        session,
        principal,
        task,
        "task.escalate",
        clock,
        urge_id=row.id,
        note=text,
        notified=told,
        committee=committee,
        reported_to=above,
        parent_unit=parent,
        until=until.isoformat() if until else None,
    )
    return Escalation(urge=row, notified=told, supervision_due_at=limit_at)


def comment(
    session: Session, *, principal: Principal, task_id: int, body: str, clock: Clock
) -> TaskComment:
    """A remark on an open task by anyone who may see it."""
    task, _locked = _open_task(session, principal, task_id)
    text = _text(body, field="body", limit=COMMENT_MAX, what="评论")
    row = TaskComment(
        task_id=task.id,
        instance_id=task.instance_id,
        author=principal.username,
        body=text,
        created_at=clock.now(),
    )
    session.add(row)
    session.flush()
    _record(session, principal, task, "task.comment", clock, comment_id=row.id)
    return row


def comments_of(session: Session, *, principal: Principal, task_id: int) -> list[TaskComment]:
    """The comments of a task the principal may see, oldest first."""
    task = access.get_task(session, principal, task_id)
    return list(
        session.execute(
            select(TaskComment).where(TaskComment.task_id == task.id).order_by(TaskComment.id)
        ).scalars()
    )


def urges_of(session: Session, *, principal: Principal, task_id: int) -> list[TaskUrge]:
    """The urges (催办) of a task the principal may see, oldest first."""
    task = access.get_task(session, principal, task_id)
    return list(
        session.execute(
            select(TaskUrge).where(TaskUrge.task_id == task.id).order_by(TaskUrge.id)
        ).scalars()
    )


# -- rules: what may be done to an open task, for the writes above and the views alike ------


class Held(Protocol):
    """An open task as the rules read it: a HumanTask, a queue row or a view."""

    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str | None: ...
    @property
    def org_unit(self) -> str | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def owner(self) -> str | None: ...
    @property
    def due_at(self) -> datetime | None: ...


def is_fixed(task: Held, properties: Mapping[str, str]) -> bool:
    """An assignee the process named (assigneeFrom) is part of the task's rules: no one
    releases or reassigns it."""
    return bool(task.assignee and properties.get("assigneeFrom"))


def claim_refusal(
    principal: Principal, task: Held, *, holder: str | None = None
) -> Conflict | None:
    """Why the principal may not claim the task besides `access.work_refusal`: someone else holds
    it (`holder`: how to name them, 姓名（单位·岗位）; their username if not given)."""
    if task.assignee and task.assignee != principal.username:
        return Conflict(
            t(
                "任务「%(name)s」已由%(value)s认领办理",
                name=task.name,
                value=holder or task.assignee,
            )
        )
    return None


def unclaim_refusal(
    principal: Principal, task: Held, *, fixed: bool, holder: str | None = None
) -> DomainError | None:
    """Why the principal may not release the task (取消认领): nobody holds it, or not they nor
    the owner who delegated it, or the process named its assignee."""
    if task.assignee is None:
        return Conflict(t("任务「%(name)s」尚无人认领，无需取消认领", name=task.name))
    who = holder or task.assignee
    if principal.username not in (task.assignee, task.owner):
        return Forbidden(
            t(
                "任务「%(name)s」由%(who)s办理：只有办理人或委派人可以取消认领",
                name=task.name,
                who=who,
            )
        )
    if fixed:
        return Forbidden(
            t("任务「%(name)s」由流程指定%(who)s办理，不能取消认领", name=task.name, who=who)
        )
    return None


def reassign_refusal(
    principal: Principal,
    task: Held,
    *,
    verb: str,
    work: DomainError | None,
    fixed: bool,
    holder: str | None = None,
) -> DomainError | None:
    """Why the principal may not delegate (委派) or transfer (转办) the task: it is neither theirs
    (held, or delegated by them) nor free for them to work (`work`: their `access.work_refusal`,
    asked only of a free task), or the process named its assignee."""
    if principal.username not in (task.assignee, task.owner):
        if task.assignee:
            return Forbidden(
                t(
                    "任务「%(name)s」由%(value)s办理：只有办理人或委派人可以%(verb)s",
                    name=task.name,
                    value=holder or task.assignee,
                    verb=verb,
                )
            )
        if work is not None:
            return work
    if fixed:
        return Forbidden(
            t(
                "任务「%(name)s」由流程指定%(value)s办理，不能%(verb)s",
                name=task.name,
                value=holder or task.assignee,
                verb=verb,
            )
        )
    return None


def urge_refusal(principal: Principal, task: Held) -> Forbidden | None:
    """Only a supervisor over the task's unit urges (催办) it."""
    if principal.role not in URGING_ROLES or task.org_unit not in principal.units:
        return Forbidden(
            t(
                "只有对 %(org_unit)s 有监督权的监督人员可以催办：%(username)s 是%(role)s人员",
                org_unit=task.org_unit,
                username=principal.username,
                role=ROLES.get(principal.role, principal.role),
            )
        )
    return None


def escalate_refusal(principal: Principal, task: Held, *, now: datetime) -> DomainError | None:
    """督办上报 is an urge of overdue work only."""
    refused = urge_refusal(principal, task)
    if refused is None and not is_overdue(task, now):
        return Conflict(
            t("任务「%(name)s」尚未逾期：督办上报只用于逾期任务，未逾期的请催办", name=task.name)
        )
    return refused


def is_overdue(task: Held, now: datetime) -> bool:
    """Past its due date, or an open escalation (督办) task, as the supervisor's lists count it."""
    if task.due_at is None:
        return task.role == ESCALATION_ROLE
    return task.due_at < now


# -- helpers of the writes ---------------------------------------------------------------


def _open_task(
    session: Session, principal: Principal, task_id: int
) -> tuple[HumanTask, instances.Locked]:
    """The visible task (NotFound otherwise), its instance locked and the task read again under the lock."""
    task = access.get_task(session, principal, task_id)
    locked = instances.lock_instance(session, task.instance_id)
    session.refresh(task)
    if task.state == "completed":
        raise TaskAlreadyCompleted(
            t(
                "任务「%(name)s」已由%(who)s办结",
                name=task.name,
                who=people.label(session, task.completed_by),
            )
        )
    if task.state != "open":
        raise Conflict(t("任务「%(name)s」已取消（流程已走向别处）", name=task.name))
    return task, locked


def _reassign(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    username: str,
    clock: Clock,
    keep_owner: bool,
) -> HumanTask:
    task, locked = _open_task(session, principal, task_id)
    verb = "委派" if keep_owner else "转办"
    free = not task.assignee and principal.username != task.owner
    work = _work_refusal(session, principal, task) if free else None
    _refuse(
        reassign_refusal(
            principal,
            task,
            verb=verb,
            work=work,
            fixed=_fixed(session, locked, task),
            holder=people.label(session, task.assignee),
        )
    )
    target = _eligible(session, principal, task, username.strip(), verb)
    before = {"assignee": task.assignee, "owner": task.owner}
    if keep_owner:
        owner = task.owner or task.assignee or principal.username
        task.owner = None if owner == target.username else owner
    else:
        task.owner = None
    task.assignee = target.username
    case = _case_of(session, task)
    where = f"（{case.number}）" if case else ""
    who = people.label(session, principal.username)
    notifications.notify(
        session,
        username=target.username,
        kind="assigned",
        title=f"{who} {verb}给你：{task.name}{where}",
        body=f"{who} 将任务「{task.name}」{verb}给你办理。",
        task_id=task.id,
        case_id=case.id if case else None,
        clock=clock,
    )
    _record(
        session,
        principal,
        task,
        "task.delegate" if keep_owner else "task.transfer",
        clock,
        before=before,
        assignee=task.assignee,
        owner=task.owner,
    )
    return task


def _eligible(
    session: Session, principal: Principal, task: HumanTask, username: str, verb: str
) -> Principal:
    """The target user of a delegation or transfer, who may work the task (ValidationFailed on
    `username` if not): `target_refusal`, the rule the list of candidates applies too."""

    def refuse(message: str) -> ValidationFailed:
        return ValidationFailed(message, [{"field": "username", "message": message}])

    if not username:
        raise refuse(t("请指定%(verb)s给谁", verb=verb))
    try:
        target = access.principal_for(session, username=username)
    except NotFound:
        raise refuse(t("用户 %(username)s 不存在或已停用", username=username)) from None
    facts = access.task_facts(session, task.id)
    if facts is None:
        raise NotFound(t("任务 %(task_id)s 不存在", task_id=task.id))
    refused = target_refusal(
        session, principal, facts, target, verb=verb, name=people.label(session, username)
    )
    if refused is not None:
        raise refuse(refused)
    return target


def target_refusal(
    session: Session,
    principal: Principal,
    facts: access.TaskFacts,
    target: Principal,
    *,
    verb: str,
    name: str | None = None,
) -> str | None:
    """Why the task of `facts` may not be delegated or transferred (`verb`) by the principal to
    `target` (None when it may): not to oneself, nor to whoever holds it, and only to someone
    who could work it — its role and unit, and recusal (`access.work_refusal`). `name`: the
    target's 姓名 for the message (else their username)."""
    who = name or target.username
    if target.username == principal.username:
        return t("不能%(verb)s给自己", verb=verb)
    if target.username == facts.assignee:
        return t("任务已由%(who)s办理，无需%(verb)s", who=who, verb=verb)
    refused = access.work_refusal(session, target, facts, ignore_assignment=True)
    if isinstance(refused, NotFound):
        role = ROLES.get(facts.role or "", facts.role or "")
        return t(
            "%(who)s不能办理本任务：本任务只能%(verb)s给 %(org_unit)s 的%(role)s人员",
            who=who,
            verb=verb,
            org_unit=facts.org_unit,
            role=role,
        )
    return refused.message if refused is not None else None


def _fixed(session: Session, locked: instances.Locked, task: HumanTask) -> bool:
    properties = versions.load(session, locked.process_version_id, locked.content_hash).properties(
        task.task_spec
    )
    return is_fixed(task, properties)


def _work_refusal(session: Session, principal: Principal, task: HumanTask) -> DomainError | None:
    try:
        access.check_may_complete(session, principal, task)
    except (NotFound, Forbidden) as err:
        return err
    return None


def _refuse(refusal: DomainError | None) -> None:
    if refusal is not None:
        raise refusal


def _add_urge(
    session: Session,
    principal: Principal,
    task: HumanTask,
    note: str,
    clock: Clock,
    kind: str = URGE,
) -> TaskUrge:
    row = TaskUrge(
        task_id=task.id,
        instance_id=task.instance_id,
        urged_by=principal.username,
        note=note,
        created_at=clock.now(),
        kind=kind,
    )
    session.add(row)
    session.flush()
    return row


def _tell(
    session: Session,
    usernames: list[str],
    *,
    title: str,
    body: str,
    task: HumanTask,
    case: CaseFile | None,
    clock: Clock,
) -> None:
    for username in usernames:
        notifications.notify(
            session,
            username=username,
            kind="urged",
            title=title,
            body=body,
            task_id=task.id,
            case_id=case.id if case else None,
            clock=clock,
        )


def _active_users(session: Session, *, role: str, org_unit: str | None) -> list[str]:
    if org_unit is None:
        return []
    return list(
        session.execute(
            select(User.username)
            .where(User.role == role, User.org_unit_code == org_unit, User.active.is_(True))
            .order_by(User.username)
        ).scalars()
    )


def _where(case: CaseFile | None) -> str:
    return f"（{case.number}）" if case else ""


def _text(value: str, *, field: str, limit: int, what: str) -> str:
    text = (value or "").strip()
    if not text or len(text) > limit:
        message = t("%(what)s应为 1–%(limit)s 个字", what=what, limit=limit)
        raise ValidationFailed(message, [{"field": field, "message": message}])
    return text


def _case_of(session: Session, task: HumanTask) -> CaseFile | None:
    return session.execute(
        select(CaseFile).where(CaseFile.instance_id == task.instance_id)
    ).scalar_one_or_none()


def _record(
    session: Session,
    principal: Principal,
    task: HumanTask,
    action: str,
    clock: Clock,
    **detail: Any,
) -> None:
    audit.record(
        session,
        at=clock.now(),
        actor=principal.username,
        action=action,
        object_type="task",
        object_id=task.id,
        instance_id=task.instance_id,
        detail={"task": task.task_spec, **detail},
    )
