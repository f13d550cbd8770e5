"""One task as its page needs it: form, current data, due date and basis, and whether
this principal may complete it (and if not, why)."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access, engine, versions
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.errors import Forbidden
from workflows.models import HumanTask, Instance


@dataclass
class TaskDetail:
    task: HumanTask
    case: CaseFile | None
    form_schema: dict[str, Any] | None
    ui_schema: dict[str, Any] | None
    data: dict[str, Any]
    may_complete: bool
    why_not: str | None
    properties: dict[str, str] = field(default_factory=dict)


def task_detail(session: Session, *, principal: Principal, task_id: int) -> TaskDetail:
    """The task if visible to `principal` (NotFound otherwise), with its form and data."""
    task = access.get_task(session, principal, task_id)
    instance = session.get(Instance, task.instance_id)
    assert instance is not None
    case = session.execute(select(CaseFile).where(CaseFile.instance_id == task.instance_id)).scalar_one_or_none()
    loaded = versions.load(session, instance.process_version_id, _content_hash(session, instance))
    properties = loaded.properties(task.task_spec)
    ui_name = properties.get("formUiSchemaFilename")
    data: dict[str, Any] = {}
    if task.state == "open":
        raw = engine.view_state(instance.state, data_of=[task.spiff_task_id]).task_data
        data = json.loads(json.dumps(raw.get(task.spiff_task_id, {}), default=str, ensure_ascii=False))
    why_not = None
    if task.state != "open":
        why_not = f"任务已{'办结' if task.state == 'completed' else '取消'}"
    else:
        try:
            access.check_may_complete(session, principal, task)
        except Forbidden as err:
            why_not = err.message
    return TaskDetail(task=task, case=case, form_schema=loaded.forms.get(task.form) if task.form else None,
                      ui_schema=loaded.forms.get(ui_name) if ui_name else None, data=data,
                      may_complete=why_not is None, why_not=why_not, properties=properties)


def _content_hash(session: Session, instance: Instance) -> str:
    from workflows.models import ProcessVersion

    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    return version.content_hash


def is_overdue(task: HumanTask, now: datetime) -> bool:
    return task.state == "open" and task.due_at is not None and task.due_at < now
