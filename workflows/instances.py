"""Process instances: the one locked path (`advance`) that changes their state.

`advance` locks the instance row, loads its state, lets the engine run one step,
and writes back the state with every projection — human tasks, timers, status and
the audit row — in the caller's transaction. Nothing else writes instance state.
"""
from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from . import audit, engine, expressions, forms
from .calendar import WorkCalendar
from .clock import Clock
from .errors import Conflict, NotFound, TaskAlreadyCompleted, ValidationFailed
from .models import CalendarOverride, CalendarYear, HumanTask, Instance, ProcessVersion, Timer

_SPEC_CACHE: OrderedDict[str, engine.Compiled] = OrderedDict()
_SPEC_CACHE_SIZE = 128
_TASKS = HumanTask.__table__
_TIMERS = Timer.__table__


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


@dataclass
class _Version:
    """What an advance needs of an immutable deployed version, kept in memory."""

    compiled: engine.Compiled
    forms: dict[str, Any]
    validators: dict[str, Any] = field(default_factory=dict)

    def validator(self, name: str) -> Any:
        if name not in self.validators:
            self.validators[name] = forms.compile(self.forms[name])
        return self.validators[name]


_VERSIONS: OrderedDict[tuple[str, int], _Version] = OrderedDict()


def _version(session: Session, version_id: int) -> _Version:
    key = (str(session.get_bind().url), version_id)
    found = _VERSIONS.get(key)
    if found is None:
        row = session.get(ProcessVersion, version_id)
        if row is None:
            raise NotFound(f"process version {version_id} not found")
        found = _Version(compiled_spec(row), json.loads(row.forms_json))
        _VERSIONS[key] = found
        if len(_VERSIONS) > _SPEC_CACHE_SIZE:
            _VERSIONS.popitem(last=False)
    return found


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
    """Runs one step on a locked instance and writes state + projections + audit; flushes.

    The projections are diffed between the state before and after the step, so they
    are written without being read: only this function writes either side."""
    if run is None:
        run = engine.restore(_version(session, instance.process_version_id).compiled,
                             instance.state, clock=clock, functions=functions_for(session, clock))
        before = run.snapshot()
    else:
        before = engine.EMPTY  # a new instance: nothing projected yet
    step.apply(run)
    after = run.snapshot()
    now = clock.now()
    _sync_tasks(session, instance, before, after, now)
    _sync_timers(session, instance, before, after)
    instance.state = run.dump()
    instance.state_format = engine.STATE_FORMAT
    instance.updated_at = now
    if run.completed:
        instance.status, instance.completed_at = "completed", now
    else:
        instance.status = "running"
    try:
        session.flush()
    except StaleDataError as err:
        raise Conflict(f"instance {instance.id} was changed by someone else; reload and retry") from err
    audit.record(session, at=now, actor=step.actor, action=step.action,
                 object_type=step.object_type,
                 object_id=step.object_id if step.object_id is not None else instance.id,
                 instance_id=instance.id, detail=dict(step.detail or {}))
    return run


_CANCEL_TASKS = (
    update(_TASKS)
    .where(_TASKS.c.instance_id == bindparam("iid"), _TASKS.c.state == "open",
           _TASKS.c.spiff_task_id.in_(bindparam("sids", expanding=True)))
    .values(state="cancelled", completed_at=bindparam("now"))
)
_RESCHEDULE_TASK = (
    update(_TASKS)
    .where(_TASKS.c.instance_id == bindparam("iid"), _TASKS.c.state == "open",
           _TASKS.c.spiff_task_id == bindparam("sid"))
    .values(due_at=bindparam("due"))
)
_DELETE_TIMERS = delete(_TIMERS).where(
    _TIMERS.c.instance_id == bindparam("iid"),
    _TIMERS.c.spiff_task_id.in_(bindparam("sids", expanding=True)),
)
_RESCHEDULE_TIMER = (
    update(_TIMERS)
    .where(_TIMERS.c.instance_id == bindparam("iid"), _TIMERS.c.spiff_task_id == bindparam("sid"))
    .values(fire_at=bindparam("at"))
)


def _sync_tasks(session: Session, instance: Instance, before: engine.Snapshot,
                after: engine.Snapshot, now: datetime) -> None:
    gone = [sid for sid in before.ready if sid not in after.ready]
    if gone:  # a completed task is no longer 'open', so this cancels only the others
        session.execute(_CANCEL_TASKS, {"iid": instance.id, "sids": gone, "now": now})
    for sid, task in after.ready.items():
        if sid in before.ready and before.ready[sid].due_at != task.due_at:
            session.execute(_RESCHEDULE_TASK, {"iid": instance.id, "sid": sid, "due": task.due_at})
    new = [task for sid, task in after.ready.items() if sid not in before.ready]
    if new:
        session.execute(insert(_TASKS), [
            dict(instance_id=instance.id, process_key=instance.process_key, spiff_task_id=task.id,
                 task_spec=task.element, name=task.name, role=task.lane, org_unit=instance.org_unit,
                 assignee=None, form=task.form, state="open", created_at=now, due_at=task.due_at,
                 due_basis=None, completed_at=None, completed_by=None)
            for task in new
        ])


def _sync_timers(session: Session, instance: Instance, before: engine.Snapshot,
                 after: engine.Snapshot) -> None:
    gone = [sid for sid in before.timers if sid not in after.timers]
    if gone:
        session.execute(_DELETE_TIMERS, {"iid": instance.id, "sids": gone})
    for sid, timer in after.timers.items():
        if sid in before.timers and before.timers[sid].fire_at != timer.fire_at:
            session.execute(_RESCHEDULE_TIMER, {"iid": instance.id, "sid": sid, "at": timer.fire_at})
    new = [timer for sid, timer in after.timers.items() if sid not in before.timers]
    if new:
        session.execute(insert(_TIMERS), [
            dict(instance_id=instance.id, spiff_task_id=t.task_id, task_spec=t.element,
                 kind=t.kind, fire_at=t.fire_at)
            for t in new
        ])


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
    owner = select(_TASKS.c.instance_id).where(_TASKS.c.id == task_id).scalar_subquery()
    instance = session.execute(
        select(Instance).where(Instance.id == owner).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()
    if instance is None:
        raise NotFound(f"task {task_id} not found")
    # Read after the lock: a racer that completed it first has committed by now.
    task = session.execute(
        select(HumanTask).where(HumanTask.id == task_id).execution_options(populate_existing=True)
    ).scalar_one()
    if task.state != "open":
        raise TaskAlreadyCompleted(
            f"task {task_id} is already {task.state}"
            + (f" (by {task.completed_by} at {task.completed_at:%Y-%m-%d %H:%M:%S} UTC)"
               if task.completed_by else "")
        )
    if not isinstance(data, Mapping):
        raise ValidationFailed("form data must be a JSON object",
                               [{"field": "(form)", "message": "expected an object"}])
    if task.form:
        forms.validate(_version(session, instance.process_version_id).validator(task.form), dict(data))
    now = clock.now()
    session.execute(update(_TASKS).where(_TASKS.c.id == task_id)
                    .values(state="completed", completed_at=now, completed_by=actor))
    for name, value in (("state", "completed"), ("completed_at", now), ("completed_by", actor)):
        set_committed_value(task, name, value)
    advance(session, instance=instance, clock=clock, step=Step(
        action="task.complete", actor=actor, object_type="task", object_id=task.id,
        apply=lambda run: run.complete_user_task(task.spiff_task_id, dict(data)),
        detail={"task": task.task_spec, "data": dict(data)},
    ))
    return task
