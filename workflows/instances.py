"""Process instances: the one locked path (`advance`) that changes their state.

`advance` locks the instance row, loads its state, lets the engine run one step,
and writes back the state with every projection — human tasks, timers, status and
the audit row — in the caller's transaction. Nothing else writes instance state.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from . import audit, engine, expressions, forms
from .calendar import WorkCalendar
from .clock import Clock
from .errors import Conflict, NotFound, TaskAlreadyCompleted, ValidationFailed
from .models import CalendarOverride, CalendarYear, HumanTask, Instance, ProcessVersion, Timer

_SPEC_CACHE: OrderedDict[str, engine.Compiled] = OrderedDict()
_SPEC_CACHE_SIZE = 128


def compiled_spec(version: ProcessVersion) -> engine.Compiled:
    """Parsed once per deployed version; keyed by content so it is valid across databases."""
    key = f"{version.process_key}:{version.content_hash}"
    compiled = _SPEC_CACHE.get(key)
    if compiled is None:
        compiled = engine.load_spec(version.spec_json)
        _SPEC_CACHE[key] = compiled
        if len(_SPEC_CACHE) > _SPEC_CACHE_SIZE:
            _SPEC_CACHE.popitem(last=False)
    else:
        _SPEC_CACHE.move_to_end(key)
    return compiled


class _LazyCalendar:
    """Loads the admin overrides only when an expression needs working days."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._calendar: WorkCalendar | None = None

    def get(self) -> WorkCalendar:
        if self._calendar is None:
            self._calendar = load_calendar(self._session)
        return self._calendar


def load_calendar(session: Session) -> WorkCalendar:
    """The PRC calendar with the admin's overrides and declared years."""
    overrides: dict[date, bool] = {
        row.day: row.is_workday for row in session.execute(select(CalendarOverride)).scalars()
    }
    years = frozenset(session.execute(select(CalendarYear.year)).scalars())
    return WorkCalendar(overrides=overrides, override_years=years)


class _CalendarProxy:
    def __init__(self, lazy: _LazyCalendar) -> None:
        self._lazy = lazy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lazy.get(), name)


def functions_for(session: Session, clock: Clock) -> dict[str, Callable[..., Any]]:
    """The registered functions expressions may call, bound to this database's calendar."""
    proxy: Any = _CalendarProxy(_LazyCalendar(session))
    return expressions.standard_functions(calendar=proxy, clock=clock)


def lock_instance(session: Session, instance_id: int) -> Instance:
    """The instance row, locked for this transaction (SQLite: BEGIN IMMEDIATE holds it)."""
    instance = session.execute(
        select(Instance).where(Instance.id == instance_id).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if instance is None:
        raise NotFound(f"instance {instance_id} not found")
    return instance


@dataclass(frozen=True)
class Step:
    action: str
    actor: str
    apply: Callable[[engine.Run], None]
    detail: Mapping[str, Any] | None = None
    object_type: str = "instance"
    object_id: str | int | None = None


def advance(session: Session, *, instance: Instance, step: Step, clock: Clock,
            run: engine.Run | None = None) -> engine.Run:
    """Runs one step on a locked instance and writes state + projections + audit; flushes."""
    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    if run is None:
        run = engine.restore(compiled_spec(version), instance.state, clock=clock,
                             functions=functions_for(session, clock))
    step.apply(run)
    now = clock.now()
    _sync_tasks(session, instance, run, now)
    _sync_timers(session, instance, run)
    instance.state = run.dump()
    instance.state_format = engine.STATE_FORMAT
    instance.updated_at = now
    if run.completed:
        instance.status, instance.completed_at = "completed", now
    else:
        instance.status = "running"
    audit.record(session, at=now, actor=step.actor, action=step.action,
                 object_type=step.object_type,
                 object_id=step.object_id if step.object_id is not None else instance.id,
                 instance_id=instance.id, detail=dict(step.detail or {}))
    try:
        session.flush()
    except StaleDataError as err:
        raise Conflict(f"instance {instance.id} was changed by someone else; reload and retry") from err
    return run


def _sync_tasks(session: Session, instance: Instance, run: engine.Run, now: Any) -> None:
    ready = {t.id: t for t in run.ready_user_tasks()}
    open_rows = session.execute(
        select(HumanTask).where(HumanTask.instance_id == instance.id, HumanTask.state == "open")
    ).scalars().all()
    for row in open_rows:
        task = ready.pop(row.spiff_task_id, None)
        if task is None:
            row.state, row.completed_at = "cancelled", now
        elif row.due_at != task.due_at:
            row.due_at = task.due_at
    for task in ready.values():
        session.add(HumanTask(
            instance_id=instance.id, process_key=instance.process_key, spiff_task_id=task.id,
            task_spec=task.element, name=task.name, role=task.lane, org_unit=instance.org_unit,
            form=task.form, state="open", created_at=now, due_at=task.due_at,
        ))


def _sync_timers(session: Session, instance: Instance, run: engine.Run) -> None:
    waiting = {t.task_id: t for t in run.waiting_timers()}
    rows = session.execute(select(Timer).where(Timer.instance_id == instance.id)).scalars().all()
    for row in rows:
        timer = waiting.pop(row.spiff_task_id, None)
        if timer is None:
            session.delete(row)
        elif row.fire_at != timer.fire_at:
            row.fire_at = timer.fire_at
    for timer in waiting.values():
        session.add(Timer(instance_id=instance.id, spiff_task_id=timer.task_id,
                          task_spec=timer.element, kind=timer.kind, fire_at=timer.fire_at))


def start(session: Session, *, version: ProcessVersion, data: Mapping[str, Any],
          org_unit: str | None, actor: str, clock: Clock) -> Instance:
    """A new instance of a deployed version, run to its first wait; flushes."""
    if not isinstance(data, Mapping):
        raise ValidationFailed("start data must be a JSON object", [{"field": "data", "message": "expected an object"}])
    now = clock.now()
    run = engine.start(compiled_spec(version), data, clock=clock,
                       functions=functions_for(session, clock))
    instance = Instance(
        process_version_id=version.id, process_key=version.process_key, org_unit=org_unit,
        status="running", state="", state_format=engine.STATE_FORMAT,
        started_at=now, started_by=actor, updated_at=now,
    )
    session.add(instance)
    session.flush()
    advance(session, instance=instance, clock=clock, run=run,
            step=Step(action="instance.start", actor=actor, apply=lambda _run: None,
                      detail={"process": version.process_key, "version": version.version,
                              "org_unit": org_unit}))
    return instance


def complete_task(session: Session, *, task_id: int, data: Mapping[str, Any], actor: str,
                  clock: Clock) -> HumanTask:
    """Completes an open user task with form-valid data; exactly one of two racers wins."""
    task = session.get(HumanTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    instance = lock_instance(session, task.instance_id)
    session.refresh(task)
    if task.state != "open":
        raise TaskAlreadyCompleted(
            f"task {task_id} is already {task.state}"
            + (f" (by {task.completed_by} at {task.completed_at:%Y-%m-%d %H:%M:%S} UTC)" if task.completed_by else "")
        )
    if not isinstance(data, Mapping):
        raise ValidationFailed("form data must be a JSON object", [{"field": "(form)", "message": "expected an object"}])
    version = session.get(ProcessVersion, instance.process_version_id)
    assert version is not None
    if task.form:
        forms.validate(json.loads(version.forms_json)[task.form], dict(data))
    now = clock.now()
    task.state, task.completed_at, task.completed_by = "completed", now, actor
    advance(session, instance=instance, clock=clock, step=Step(
        action="task.complete", actor=actor, object_type="task", object_id=task.id,
        apply=lambda run: run.complete_user_task(task.spiff_task_id, dict(data)),
        detail={"task": task.task_spec, "data": dict(data)},
    ))
    return task
