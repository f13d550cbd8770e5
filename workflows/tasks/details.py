"""What earlier steps of a task's instance recorded (办理记录): each completed form's answers,
labelled by the titles of the forms the version was deployed with, so the person deciding
sees what they decide on; who completed each step, and a person a form chose, by name. Part
of a task's view (workflows/tasks/views.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine.models import HumanTask
from workflows.org import people


@dataclass(frozen=True)
class RecordedEntry:
    key: str
    label: str  # the form's title of the field
    text: str  # the value as the form offered it (a choice's title, 是/否), or as entered
    chosen: bool = False  # the text is the form's own (a choice's title, 是/否), not data


@dataclass(frozen=True)
class RecordedStep:
    """A completed task of the instance and the answers of its form still in the data."""

    task_name: str
    completed_by: str | None
    completed_by_name: str | None  # 姓名（单位·岗位）
    completed_at: datetime | None
    entries: list[RecordedEntry]


def recorded_steps(
    session: Session, *, task: HumanTask, forms: dict[str, Any], data: dict[str, Any]
) -> list[RecordedStep]:
    """The completed tasks of `task`'s instance, oldest first, each with the answers of its form
    found in `data` (a field answered in several steps shows under the last); the fields of
    `task`'s own form and values that are empty or not plain (lists, objects) are left out."""
    done = (
        session.execute(
            select(HumanTask)
            .where(
                HumanTask.instance_id == task.instance_id,
                HumanTask.state == "completed",
                HumanTask.form.is_not(None),
            )
            .order_by(HumanTask.completed_at, HumanTask.id)
        )
        .scalars()
        .all()
    )
    own = set(_properties(forms.get(task.form or "")))
    chosen = {  # fields naming a person (ui:widget person, e.g. an appeal's reviewer): named too
        str(data.get(key))
        for step in done
        for key in _person_fields(forms, step.form or "")
        if isinstance(data.get(key), str)
    }
    names = people.labels(session, [*(step.completed_by for step in done), *chosen])
    last_step: dict[str, int] = {}
    for index, step in enumerate(done):
        for key in _properties(forms.get(step.form or "")):
            last_step[key] = index
    steps: list[RecordedStep] = []
    for index, step in enumerate(done):
        entries = []
        persons = _person_fields(forms, step.form or "")
        for key, spec in _ordered(forms, step.form or ""):
            if key in own or last_step[key] != index:
                continue
            text, is_choice = _text(spec, data.get(key))
            if text and key in persons:
                text, is_choice = names[text], False
            if text:
                label = str(spec.get("title") or key)
                entries.append(RecordedEntry(key=key, label=label, text=text, chosen=is_choice))
        if entries:
            steps.append(
                RecordedStep(
                    task_name=step.name,
                    completed_by=step.completed_by,
                    completed_by_name=names.of(step.completed_by),
                    completed_at=step.completed_at,
                    entries=entries,
                )
            )
    return steps


def _properties(schema: Any) -> dict[str, Any]:
    found = schema.get("properties") if isinstance(schema, dict) else None
    return (
        {k: v for k, v in found.items() if isinstance(v, dict)} if isinstance(found, dict) else {}
    )


def _ui(forms: dict[str, Any], name: str) -> dict[str, Any]:
    ui = forms.get(name.removesuffix(".schema.json") + ".uischema.json")
    return ui if isinstance(ui, dict) else {}


def _person_fields(forms: dict[str, Any], name: str) -> set[str]:
    """The fields of a form whose value is a username (UI schema `"ui:widget": "person"`)."""
    return {
        key
        for key, spec in _ui(forms, name).items()
        if isinstance(spec, dict) and spec.get("ui:widget") == "person"
    }


def _ordered(forms: dict[str, Any], name: str) -> list[tuple[str, Any]]:
    """A form's fields in the order its page shows them (the UI schema's `ui:order`)."""
    found = _properties(forms.get(name))
    order = _ui(forms, name).get("ui:order")
    if not isinstance(order, list):
        return list(found.items())
    rank = {key: i for i, key in enumerate(order) if isinstance(key, str)}
    return sorted(found.items(), key=lambda item: rank.get(item[0], len(rank)))


def _text(spec: dict[str, Any], value: Any) -> tuple[str | None, bool]:
    """A value as the form offers it, and whether that text is the form's own (a choice)."""
    if isinstance(value, bool):
        return ("是" if value else "否"), True
    if isinstance(value, int | float):
        return str(value), False
    if not isinstance(value, str) or not value.strip():
        return None, False
    for choice in spec.get("oneOf") or spec.get("anyOf") or []:
        if isinstance(choice, dict) and choice.get("const") == value and choice.get("title"):
            return str(choice["title"]), True
    return value, False
