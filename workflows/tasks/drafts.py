"""保存草稿: the form of an open task saved before it is complete, to be finished later.

A draft is not validated: it is what was entered, kept for whoever may complete the
task (one per task, replaced by each save). It never becomes task data by itself —
completing the task does, through `instances.complete_task`, whose listener below
deletes the draft inside the completion's own transaction (however it was completed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.engine import audit, hooks, instances
from workflows.engine.clock import Clock
from workflows.engine.models import table_of
from workflows.engine.prepared import Prepared
from workflows.errors import Conflict, ValidationFailed
from workflows.messages import t
from workflows.tasks.models import TaskDraft

#: The largest draft kept, as JSON text (a form of long reasons stays far below it).
MAX_CHARS = 200_000


@dataclass(frozen=True)
class Draft:
    task_id: int
    data: dict[str, Any]
    saved_by: str
    saved_at: datetime


def save_draft(
    session: Session, *, principal: Principal, task_id: int, data: dict[str, Any], clock: Clock
) -> Draft:
    """The open task's draft is `data`, saved by someone who may complete the task (NotFound if
    the task is out of sight, Forbidden if it is not theirs, Conflict once it is closed); audited."""
    task = access.get_task(session, principal, task_id)
    instances.lock_instance(session, task.instance_id)  # a completion cannot slip in between
    session.refresh(task)
    if task.state != "open":
        if task.state == "completed":
            raise Conflict(t("任务「%(name)s」已办结，不能保存草稿", name=task.name))
        raise Conflict(t("任务「%(name)s」已取消，不能保存草稿", name=task.name))
    access.check_may_complete(session, principal, task)
    text = json.dumps(data, ensure_ascii=False, default=str)
    if not isinstance(data, dict) or len(text) > MAX_CHARS:
        message = t("草稿过大：最多 %(limit)s 个字符", limit=MAX_CHARS)
        raise ValidationFailed(message, [{"field": "(form)", "message": message}])
    now = clock.now()
    row = session.get(TaskDraft, task.id)
    if row is None:
        row = TaskDraft(task_id=task.id, data=text, saved_by=principal.username, saved_at=now)
        session.add(row)
    else:
        row.data, row.saved_by, row.saved_at = text, principal.username, now
    session.flush()
    # Not on the case's timeline (no instance id): a draft is work in progress, not a step.
    audit.record(
        session,
        at=now,
        actor=principal.username,
        action="task.draft",
        object_type="task",
        object_id=task.id,
        detail={"task": task.task_spec, "chars": len(text)},
    )
    return Draft(task.id, data, row.saved_by, row.saved_at)


def draft_of(session: Session, *, principal: Principal, task_id: int) -> Draft | None:
    """The draft of an open task the principal sees (NotFound if out of sight), or None."""
    task = access.get_task(session, principal, task_id)
    if task.state != "open":
        return None
    row = session.get(TaskDraft, task.id)
    if row is None:
        return None
    try:
        data = json.loads(row.data)
    except ValueError:
        data = {}
    return Draft(task.id, data if isinstance(data, dict) else {}, row.saved_by, row.saved_at)


_DROP_DRAFT = Prepared(
    "drafts.drop_draft",
    delete(table_of(TaskDraft)).where(table_of(TaskDraft).c.task_id == bindparam("tid")),
)


@hooks.after_any_completion
def _drop_draft(context: hooks.ActionContext) -> None:
    """A completed task's draft has served its purpose. Every completion runs this: a
    prepared statement, sent with the completion's own writes where there are some."""
    if context.task_id is None:
        return
    if context.writes is not None:
        context.writes.add(_DROP_DRAFT, tid=context.task_id)
    else:
        _DROP_DRAFT.execute(context.session.connection(), {"tid": context.task_id})
