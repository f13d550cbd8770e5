"""One task as its page needs it: form, current data, due date and basis, whether this
principal may complete it (and if not, why), and what earlier steps of its instance
recorded (办理记录): each completed form's answers, labelled by the titles of the forms
the version was deployed with, so the person deciding sees what they decide on."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.engine import spiff as engine
from workflows.engine import versions
from workflows.engine.models import HumanTask, Instance
from workflows.errors import Forbidden


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
    recorded: list[RecordedStep] = field(default_factory=list)


@dataclass(frozen=True)
class RecordedEntry:
    key: str
    label: str  # the form's title of the field
    text: str  # the value as the form offered it (a choice's title, 是/否)


@dataclass(frozen=True)
class RecordedStep:
    """A completed task of the instance and the answers of its form still in the data."""

    task_name: str
    completed_by: str | None
    completed_at: datetime | None
    entries: list[RecordedEntry]


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
                      may_complete=why_not is None, why_not=why_not, properties=properties,
                      recorded=recorded_steps(session, task=task, forms=loaded.forms, data=data))


def recorded_steps(session: Session, *, task: HumanTask, forms: dict[str, Any],
                   data: dict[str, Any]) -> list[RecordedStep]:
    """The completed tasks of `task`'s instance, oldest first, each with the answers of its form
    found in `data` (a field answered in several steps shows under the last); the fields of
    `task`'s own form and values that are empty or not plain (lists, objects) are left out."""
    done = session.execute(select(HumanTask).where(
        HumanTask.instance_id == task.instance_id, HumanTask.state == "completed",
        HumanTask.form.is_not(None)).order_by(HumanTask.completed_at, HumanTask.id)).scalars().all()
    own = set(_properties(forms.get(task.form or "")))
    last_step: dict[str, int] = {}
    for index, step in enumerate(done):
        for key in _properties(forms.get(step.form or "")):
            last_step[key] = index
    steps: list[RecordedStep] = []
    for index, step in enumerate(done):
        entries = []
        for key, spec in _ordered(forms, step.form or ""):
            text = _text(spec, data.get(key)) if key not in own and last_step[key] == index else None
            if text:
                entries.append(RecordedEntry(key=key, label=str(spec.get("title") or key), text=text))
        if entries:
            steps.append(RecordedStep(task_name=step.name, completed_by=step.completed_by,
                                      completed_at=step.completed_at, entries=entries))
    return steps


def _properties(schema: Any) -> dict[str, Any]:
    found = schema.get("properties") if isinstance(schema, dict) else None
    return {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}


def _ordered(forms: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """A form's fields in the order its page shows them (the UI schema's `ui:order`)."""
    found = _properties(forms.get(name))
    ui = forms.get(name.removesuffix(".schema.json") + ".uischema.json")
    order = ui.get("ui:order") if isinstance(ui, dict) else None
    if not isinstance(order, list):
        return list(found.items())
    rank = {key: i for i, key in enumerate(order) if isinstance(key, str)}
    return sorted(found.items(), key=lambda item: rank.get(item[0], len(rank)))


def _text(spec: dict[str, Any], value: Any) -> str | None:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int | float):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    for choice in spec.get("oneOf") or spec.get("anyOf") or []:
        if isinstance(choice, dict) and choice.get("const") == value and choice.get("title"):
            return str(choice["title"])
    return value


def _content_hash(session: Session, instance: Instance) -> str:
    from workflows.engine.models import ProcessVersion

    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    return version.content_hash


def is_overdue(task: HumanTask, now: datetime) -> bool:
    return task.state == "open" and task.due_at is not None and task.due_at < now
