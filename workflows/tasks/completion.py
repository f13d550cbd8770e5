"""办理: a principal completes a task, and sees what comes next in the case.

The checks of `access.check_may_complete` judge the task and its case as read with the
instance lock that `instances.complete_task` takes (on PostgreSQL in the lock's own round
trip), so they judge the task as it is once every racer has committed (a claim or transfer
cannot slip in between check and completion). The open
tasks that follow are read once, by instance, and filtered by the same rule as
`access.task_scope`, evaluated on the rows read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal, TaskFacts
from workflows.documents import references
from workflows.engine import instances
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, table_of
from workflows.engine.prepared import Prepared, Rows
from workflows.errors import NotFound, TaskAlreadyCompleted
from workflows.messages import t
from workflows.org import people

_TASKS = table_of(HumanTask)
_FACTS = "completion.facts"  # the task and its case, read with the instance lock
_OPEN_OF_INSTANCE = Prepared(
    "completion.open_of_instance",
    select(_TASKS)
    .where(_TASKS.c.instance_id == bindparam("iid"), _TASKS.c.state == "open")
    .order_by(_TASKS.c.id),
)


@dataclass(frozen=True)
class _Ref:
    id: int


@dataclass(frozen=True)
class Completion:
    done: instances.CompletedTask
    case_id: int | None
    next_tasks: list[Any]  # human_task rows (columns as attributes), oldest first
    facts: TaskFacts  # the completed task and its case, as authorization read them


def complete(
    session: Session, *, principal: Principal, task_id: int, data: Mapping[str, Any], clock: Clock
) -> Completion:
    """Completes the task for `principal`: NotFound when it is out of their sight, Forbidden
    when it is not theirs to do (role, org unit, assignee, recusal), 409 when already done,
    422 for form data the form refuses. Returns the instance's open tasks they may see.

    It is the last change of its transaction: the caller commits right after."""
    if not 0 < task_id <= access.MAX_ID:
        raise NotFound(t("没有编号为 %(task_id)s 的任务", task_id=task_id))
    checked: list[TaskFacts] = []

    def authorize(read: Mapping[str, Rows]) -> None:
        checked.append(
            access.check_may_complete(session, principal, _Ref(task_id), read=read[_FACTS])
        )

    def check_data(ui: Mapping[str, Any] | None) -> None:
        # 文件引用 fields name documents of this case
        references.check(session, case_id=checked[0].case_id, ui=ui, data=data)

    try:
        done = instances.complete_task(
            session,
            task_id=task_id,
            data=data,
            actor=principal.username,
            clock=clock,
            authorize=authorize,
            reads={_FACTS: access.TASK_FACTS},
            check_data=check_data,
        )
    except TaskAlreadyCompleted:
        raise _closed(session, task_id, clock) from None
    facts = checked[0]
    # A completed instance has no open task left: advance cancelled every one it had.
    rows = (
        []
        if done.instance_status == "completed"
        else [
            row
            for row in _OPEN_OF_INSTANCE.execute(session.connection(), {"iid": done.instance_id})
            if access.task_visible(
                principal, role=row.role, org_unit=row.org_unit, case_cadre_id=facts.case_cadre_id
            )
        ]
    )
    return Completion(done=done, case_id=facts.case_id, next_tasks=rows, facts=facts)


def _closed(session: Session, task_id: int, clock: Clock) -> TaskAlreadyCompleted:
    """The refusal of a step no longer open, in words: who completed it and when (local
    time), or that the process went elsewhere."""
    task = session.get(HumanTask, task_id, populate_existing=True)
    if task is None or task.state != "completed" or task.completed_at is None:
        name = task.name if task is not None else task_id
        return TaskAlreadyCompleted(
            t("任务「%(name)s」已取消（流程已走向别处），未能提交", name=name)
        )
    at = task.completed_at.astimezone(clock.tz)
    return TaskAlreadyCompleted(
        t(
            "任务「%(name)s」已由%(who)s于 %(at)s 办结，未能提交",
            name=task.name,
            who=people.label(session, task.completed_by),
            at=f"{at:%Y-%m-%d %H:%M}",
        )
    )
