"""Administrators' view of every step's 办理时限: what each step of the newest deployed versions
declares, what this deployment changed, and changing it (DOMAIN.md §4).

A change applies to steps that become available afterwards; open steps keep the due date they
were given. Steps whose limit a rule or a case date fixes cannot be changed. Every change is
audited with the values before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.definitions import catalog
from workflows.engine import audit, time_limits, versions
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.models import TimeLimitSetting
from workflows.errors import ValidationFailed
from workflows.messages import t
from workflows.roles import ROLES

SOURCE_NAMES = {
    "setting": "本部署设置",
    "default": "流程默认",
    "policy": "规定",
    "date": "案件确定的日期",
    "same_as": "与其他步骤同时到期",
    "none": "未设时限",
}


@dataclass(frozen=True)
class StepLimit:
    process_key: str
    process_name: str
    element: str
    step: str
    role: str | None
    role_name: str | None
    declared: str | None  # the BPMN's own rule, e.g. '30个工作日'
    amount: int | None  # the rule in force (None: not a counted limit)
    unit: str | None
    reminder_workdays: int | None
    counted_from: str
    source: str
    source_name: str
    fixed: str | None  # why it cannot be changed
    rule_text: str
    updated_by: str | None = None
    updated_at: datetime | None = None

    @property
    def editable(self) -> bool:
        return self.fixed is None


def listing(session: Session) -> list[StepLimit]:
    """Every user task of the newest version of each process, with its limit in force."""
    stored = {
        (row.process_key, row.element): row
        for row in session.execute(select(TimeLimitSetting)).scalars()
    }
    found: list[StepLimit] = []
    for version in catalog.latest_processes(session):
        compiled = versions.compiled_spec(version)
        info = engine.describe(compiled)
        names = {task.element: task.name for task in info.user_tasks}
        for task in info.user_tasks:
            props = engine.task_properties(compiled, task.element)
            found.append(
                _step(
                    version.process_key,
                    info.name,
                    task,
                    props,
                    stored.get((version.process_key, task.element)),
                    names,
                )
            )
    return found


def _step(
    process_key: str,
    process_name: str,
    task: engine.UserTaskInfo,
    props: dict[str, str],
    setting: TimeLimitSetting | None,
    names: dict[str, str],
) -> StepLimit:
    fixed = time_limits.is_fixed(props)
    declared = (
        time_limits.parse(props[time_limits.LIMIT], props.get(time_limits.REMINDER))
        if props.get(time_limits.LIMIT)
        else None
    )
    rule: time_limits.Rule | None = declared
    if props.get(time_limits.DUE_AT):
        source = "date"
    elif props.get(time_limits.SAME_AS):
        source = "same_as"
    elif props.get(time_limits.POLICY):
        source = "policy"
    elif setting is not None:
        source = "setting"
        rule = time_limits.Rule(setting.amount, setting.unit, setting.reminder_workdays)
    elif declared is not None:
        source = "default"
    else:
        source = "none"
    label = props.get(time_limits.FROM_LABEL) or time_limits.DEFAULT_FROM_LABEL
    if rule is not None:
        text = f"{label}起{rule.text()}"
        if rule.reminder:
            text += f"，到期前{rule.reminder}个工作日提醒"
    elif source == "date":
        text = "案件中确定的期限"
    elif source == "same_as":
        twin = props[time_limits.SAME_AS]
        text = f"与“{names.get(twin, twin)}”同时到期"
    else:
        text = "未设时限"
    return StepLimit(
        process_key=process_key,
        process_name=process_name,
        element=task.element,
        step=task.name,
        role=task.lane,
        role_name=ROLES.get(task.lane or "", task.lane),
        declared=declared.text() if declared else None,
        amount=rule.amount if rule else None,
        unit=rule.unit if rule else None,
        reminder_workdays=rule.reminder if rule else None,
        counted_from=label,
        source=source,
        source_name=SOURCE_NAMES[source],
        fixed=fixed,
        rule_text=text,
        updated_by=setting.updated_by if setting is not None and source == "setting" else None,
        updated_at=setting.updated_at if setting is not None and source == "setting" else None,
    )


def one(session: Session, *, process_key: str, element: str) -> StepLimit:
    """One step's limit; ValidationFailed naming `process_key` or `element` when unknown."""
    steps = [s for s in listing(session) if s.process_key == process_key]
    if not steps:
        known = sorted({s.process_key for s in listing(session)})
        raise _refuse(
            "process_key",
            t(
                "没有已部署的流程“%(process_key)s”（可选：%(choices)s）",
                process_key=process_key,
                choices="、".join(known),
            ),
        )
    for step in steps:
        if step.element == element:
            return step
    names = "、".join(f"{s.element}（{s.step}）" for s in steps)
    raise _refuse(
        "element",
        t(
            "流程“%(process_key)s”没有人工步骤“%(element)s”（可选：%(names)s）",
            process_key=process_key,
            element=element,
            names=names,
        ),
    )


def put(
    session: Session,
    *,
    process_key: str,
    element: str,
    amount: Any,
    unit: Any,
    reminder_workdays: Any,
    actor: str,
    clock: Clock,
) -> StepLimit:
    """Sets one step's limit (and reminder) for steps that become available from now on."""
    step = one(session, process_key=process_key, element=element)
    if step.fixed is not None:
        raise _refuse(
            "element", t("“%(step)s”的时限不能修改：%(fixed)s", step=step.step, fixed=step.fixed)
        )
    try:
        rule = time_limits.check_rule(amount, unit, reminder_workdays)
    except time_limits.TimeLimitRefused as refused:
        raise _refuse(refused.field, str(refused)) from None
    row = session.get(TimeLimitSetting, (process_key, element))
    if row is None:
        row = TimeLimitSetting(process_key=process_key, element=element)
        session.add(row)
    row.amount, row.unit, row.reminder_workdays = rule.amount, rule.unit, rule.reminder
    row.updated_by, row.updated_at = actor, clock.now()
    session.flush()
    after = one(session, process_key=process_key, element=element)
    _audit(session, step, after, actor=actor, clock=clock)
    return after


def reset(
    session: Session, *, process_key: str, element: str, actor: str, clock: Clock
) -> StepLimit:
    """Back to the process's default for steps that become available from now on."""
    step = one(session, process_key=process_key, element=element)
    row = session.get(TimeLimitSetting, (process_key, element))
    if row is not None:
        session.delete(row)
        session.flush()
    after = one(session, process_key=process_key, element=element)
    if row is not None:
        _audit(session, step, after, actor=actor, clock=clock)
    return after


def _audit(
    session: Session, before: StepLimit, after: StepLimit, *, actor: str, clock: Clock
) -> None:
    def values(step: StepLimit) -> dict[str, Any]:
        return {
            "amount": step.amount,
            "unit": step.unit,
            "reminder_workdays": step.reminder_workdays,
            "source": step.source,
        }

    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action="settings.time_limit",
        object_type="setting",
        object_id=f"{before.process_key}/{before.element}",
        detail={"step": before.step, "before": values(before), "after": values(after)},
    )


def _refuse(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [{"field": field, "message": message}])
