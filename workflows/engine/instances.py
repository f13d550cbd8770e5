"""Process instances: the one locked path (`advance`) that changes their state.

`advance` takes a locked instance, lets the engine run one step, and writes back the
state with every projection — human tasks, timers, status and the audit row — in
the caller's transaction. Nothing else writes instance state. The hot path uses
prepared SQLAlchemy Core statements on the session's connection: the ORM's
unit of work would cost more than the engine itself here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from workflows.engine import (
    audit,
    effects,
    form_messages,
    forms,
    functions,
    hooks,
    prepared,
    projections,
    time_limits,
    versions,
)
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.models import Instance, ProcessVersion, table_of
from workflows.engine.prepared import Prepared, Rows
from workflows.errors import (
    AuditNotWritten,
    Conflict,
    FormInvalid,
    NotFound,
    TaskAlreadyCompleted,
    ValidationFailed,
)
from workflows.messages import t

_INSTANCES = table_of(Instance)
_VERSIONS = table_of(ProcessVersion)
_TASKS = projections.TASKS
_LOCKED = select(
    _INSTANCES.c.id,
    _INSTANCES.c.process_version_id,
    _VERSIONS.c.content_hash,
    _INSTANCES.c.process_key,
    _INSTANCES.c.org_unit,
    _INSTANCES.c.state,
    _INSTANCES.c.version,
).join_from(_INSTANCES, _VERSIONS, _INSTANCES.c.process_version_id == _VERSIONS.c.id)
_LOCK = _LOCKED.where(_INSTANCES.c.id == bindparam("iid")).with_for_update(of=_INSTANCES)
_LOCK_BY_TASK = _LOCKED.where(
    _INSTANCES.c.id
    == select(_TASKS.c.instance_id).where(_TASKS.c.id == bindparam("tid")).scalar_subquery()
).with_for_update(of=_INSTANCES)
_READ = _LOCKED.add_columns(_INSTANCES.c.status).where(_INSTANCES.c.id == bindparam("iid"))
_READ_VERSION = select(_INSTANCES.c.version).where(_INSTANCES.c.id == bindparam("iid"))
_READ_TASK = select(_TASKS).where(_TASKS.c.id == bindparam("tid"))
# The task row read with the lock may be older than the locked instance on PostgreSQL
# (a racer's commit); the engine state is then the judge: see TaskNotReady below.
_LOCK_WITH_TASK = Prepared(
    "instances.lock_with_task",
    _LOCKED.add_columns(
        _TASKS.c.id.label("task_id"),
        _TASKS.c.state.label("task_state"),
        _TASKS.c.form,
        _TASKS.c.spiff_task_id,
        _TASKS.c.task_spec,
    )
    .join(_TASKS, _TASKS.c.instance_id == _INSTANCES.c.id)
    .where(_TASKS.c.id == bindparam("tid"))
    .with_for_update(of=_INSTANCES),
)
_WRITE_STATE = Prepared(
    "instances.write_state",
    update(_INSTANCES)
    .where(_INSTANCES.c.id == bindparam("iid"), _INSTANCES.c.version == bindparam("expected"))
    .values(
        state=bindparam("state"),
        state_format=bindparam("fmt"),
        version=bindparam("next"),
        status=bindparam("status"),
        updated_at=bindparam("now"),
        completed_at=bindparam("done_at"),
    ),
)
# PostgreSQL's last write carries its audit row (audit.appending_ctes): the state is written
# only if that row was appended, so a missing row shows as nothing written, never a gap.
_WRITE_STATE_AUDITED = Prepared(
    "instances.write_state_audited",
    _WRITE_STATE.statement.where(audit.AUDIT_WRITTEN),  # type: ignore[attr-defined]
)
# A migration (迁移) moves the instance to another version of its process in the same write.
_WRITE_STATE_MOVED = Prepared(
    "instances.write_state_moved",
    _WRITE_STATE.statement.values(process_version_id=bindparam("pvid")),  # type: ignore[attr-defined]
)
_INSERT_INSTANCE = insert(_INSTANCES).returning(_INSTANCES.c.id)


@dataclass
class Locked:
    """An instance row held under lock for the rest of the transaction."""

    id: int
    process_version_id: int
    content_hash: str
    process_key: str
    org_unit: str | None
    state: str
    version: int
    status: str = "running"


def lock_instance(session: Session, instance_id: int) -> Locked:
    """The instance row, locked (PostgreSQL FOR UPDATE; SQLite's BEGIN IMMEDIATE holds it)."""
    row = session.connection().execute(_LOCK, {"iid": instance_id}).first()
    if row is None:
        raise NotFound(t("流程实例 %(instance_id)s 不存在", instance_id=instance_id))
    return Locked(*row)


def read_instance(session: Session, instance_id: int) -> Locked:
    """The instance as the last commit left it, unlocked: for looking, never for writing."""
    row = session.connection().execute(_READ, {"iid": instance_id}).first()
    if row is None:
        raise NotFound(t("流程实例 %(instance_id)s 不存在", instance_id=instance_id))
    return Locked(*row)


@dataclass(frozen=True)
class CompletedTask:
    id: int
    instance_id: int
    task_spec: str
    completed_at: datetime
    completed_by: str
    instance_status: str
    state: str = "completed"


@dataclass(frozen=True)
class Step:
    action: str
    actor: str
    apply: Callable[[engine.Run], None]
    detail: Mapping[str, Any] | None = None
    object_type: str = "instance"
    object_id: str | int | None = None
    completes: str | None = None  # the spiff task id this step completes, if any
    #: Why the open tasks this step takes away are gone, in the users' words (e.g. 退回);
    #: None: the process went elsewhere.
    cancels_because: str | None = None


def advance(
    session: Session,
    *,
    instance: Locked,
    step: Step,
    clock: Clock,
    run: engine.Run | None = None,
    batch: projections.Batch | None = None,
    last_write: bool = False,
    moves_to: ProcessVersion | None = None,
) -> engine.Run:
    """Runs one step on a locked instance and writes state + projections + audit; flushes.

    Projections are diffed between the engine's snapshots before and after the step, so
    they are written without being read: this function is the only writer of either.
    `last_write` (the caller commits right after) lets PostgreSQL chain the audit row in
    the same statement; otherwise it is appended at commit, when the head lock is taken.
    `moves_to` (a migration, 迁移) writes the instance onto that version of its process:
    the step then runs on the spec of the version the instance is on and is to move to it."""
    calendar = functions.LazyCalendar(session)
    if run is None:
        run = engine.restore(
            versions.load(session, instance.process_version_id, instance.content_hash).compiled,
            instance.state,
            clock=clock,
            functions=functions.bound(session, clock, calendar),
        )
        before = run.snapshot(details=False)  # only ids and due times are compared
    else:
        before = engine.EMPTY  # a new instance: nothing projected yet
    step.apply(run)
    for act in run.take_actions():
        hooks.REGISTRY.automatic_action(act.action)(
            hooks.ActionContext(
                session=session,
                clock=clock,
                actor=step.actor,
                instance_id=instance.id,
                element=act.element,
                data=act.data,
            )
        )
    after = run.snapshot()
    _tell_cancelled(session, instance, step, before, after, clock)
    now = clock.now()
    batch = batch or projections.Batch()
    dues = _dues_of_new_steps(session, instance, before, after, calendar, clock)
    projections.sync_tasks(
        batch,
        instance_id=instance.id,
        process_key=instance.process_key,
        org_unit=instance.org_unit,
        before=before,
        after=after,
        now=now,
        completed=step.completes,
        dues=dues,
    )
    projections.sync_timers(batch, instance_id=instance.id, before=before, after=after)
    instance.status = "completed" if run.completed else "running"
    conn = session.connection()
    row = audit.entry(
        at=now,
        actor=step.actor,
        action=step.action,
        object_type=step.object_type,
        object_id=step.object_id if step.object_id is not None else instance.id,
        instance_id=instance.id,
        detail={**(step.detail or {}), audit.SEQUENCE: instance.version + 1},
    )
    audited_here = conn.dialect.name == "postgresql" and last_write and moves_to is None
    if audited_here:
        batch.add_ctes(*audit.appending_ctes(row))  # the audit row rides along
    else:
        audit.queue(session, row)
    final = _WRITE_STATE_AUDITED if audited_here else _WRITE_STATE
    moved = {} if moves_to is None else {"pvid": moves_to.id}
    written = batch.execute(
        conn,
        final if moves_to is None else _WRITE_STATE_MOVED,
        {
            **moved,
            "iid": instance.id,
            "expected": instance.version,
            "next": instance.version + 1,
            "state": run.dump(),
            "fmt": engine.STATE_FORMAT,
            "status": instance.status,
            "now": now,
            "done_at": now if run.completed else None,
        },
    )
    if written != 1:
        if audited_here and _version_of(conn, instance.id) == instance.version:
            raise AuditNotWritten(audit.not_written(step.action))
        raise Conflict(
            t("流程实例 %(instance_id)s 已被他人改动，请刷新后重试", instance_id=instance.id)
        )
    instance.version += 1
    if moves_to is not None:
        instance.process_version_id = moves_to.id
        instance.content_hash = moves_to.content_hash
    return run


def _tell_cancelled(
    session: Session,
    instance: Locked,
    step: Step,
    before: engine.Snapshot,
    after: engine.Snapshot,
    clock: Clock,
) -> None:
    """The domain hears of the open tasks this step took away, before they are written."""
    gone = tuple(sid for sid in before.ready if sid not in after.ready and sid != step.completes)
    if not gone:
        return
    cancelled = hooks.CancelledSteps(
        session=session,
        clock=clock,
        actor=step.actor,
        instance_id=instance.id,
        spiff_task_ids=gone,
        why=step.cancels_because,
    )
    for listener in hooks.REGISTRY.after_cancelling:
        listener(cancelled)


def _dues_of_new_steps(
    session: Session,
    instance: Locked,
    before: engine.Snapshot,
    after: engine.Snapshot,
    calendar: Any,
    clock: Clock,
) -> dict[str, time_limits.Due]:
    """The time limits of the steps this step made available (DOMAIN.md §4)."""
    new = [
        time_limits.NewStep(
            id=task.id,
            element=task.element,
            name=task.name,
            props=task.limit or {},
            explicit_due=task.due_at,
            explicit_basis=task.due_basis,
            limit_from=task.limit_from,
        )
        for sid, task in after.ready.items()
        if sid not in before.ready
    ]
    try:
        return time_limits.resolve(
            session,
            instance_id=instance.id,
            process_key=instance.process_key,
            steps=new,
            calendar=calendar,
            clock=clock,
        )
    except (time_limits.TimeLimitRefused, ValueError) as refused:
        raise engine.ProcessError(t("办理时限无法计算：%(refused)s", refused=refused)) from refused


def _version_of(conn: Any, instance_id: int) -> int | None:
    return conn.execute(_READ_VERSION, {"iid": instance_id}).scalar()


def start(
    session: Session,
    *,
    version: ProcessVersion,
    data: Mapping[str, Any],
    org_unit: str | None,
    actor: str,
    clock: Clock,
) -> Locked:
    """A new instance of a deployed version, run to its first wait; flushes."""
    if not isinstance(data, Mapping):
        raise ValidationFailed(
            t("启动数据应为 JSON 对象"), [{"field": "data", "message": t("应为对象")}]
        )
    now = clock.now()
    run = engine.start(
        versions.compiled_spec(version),
        data,
        clock=clock,
        functions=functions.bound(session, clock),
    )
    new_id = (
        session.connection()
        .execute(
            _INSERT_INSTANCE,
            {
                "process_version_id": version.id,
                "process_key": version.process_key,
                "org_unit": org_unit,
                "status": "running",
                "state": "",
                "state_format": engine.STATE_FORMAT,
                "version": 1,
                "started_at": now,
                "started_by": actor,
                "updated_at": now,
                "completed_at": None,
            },
        )
        .scalar_one()
    )
    instance = Locked(
        new_id, version.id, version.content_hash, version.process_key, org_unit, "", 1
    )
    advance(
        session,
        instance=instance,
        clock=clock,
        run=run,
        step=Step(
            action="instance.start",
            actor=actor,
            apply=lambda _run: None,
            detail={
                "process": version.process_key,
                "version": version.version,
                "org_unit": org_unit,
            },
        ),
    )
    return instance


def complete_task(
    session: Session,
    *,
    task_id: int,
    data: Mapping[str, Any],
    actor: str,
    clock: Clock,
    authorize: Callable[[Mapping[str, Rows]], None] | None = None,
    reads: Mapping[str, Prepared] | None = None,
    check_data: Callable[[Mapping[str, Any] | None], None] | None = None,
) -> CompletedTask:
    """Completes an open user task with form-valid data; exactly one of two racers wins.

    `reads` (statements taking the task's id as `tid`) and the registry's `reads_with_lock`
    are read right after the instance lock, with it (PostgreSQL: one round trip), so they see
    the task as it is after any racer's commit (claim, transfer). `authorize` runs then,
    before anything else is looked at, with what `reads` returned by name. `check_data` runs
    once the form accepted the data, with the UI schema the version pinned for the task's
    form (None without one): the domain's checks of values the form cannot judge alone. It
    is the last change of its transaction: the caller commits right after."""
    conn = session.connection()
    wanted = {**hooks.REGISTRY.reads_with_lock, **(reads or {})}
    names = list(wanted)
    results = prepared.execute_together(
        conn,
        [(_LOCK_WITH_TASK, {"tid": task_id}), *((wanted[n], {"tid": task_id}) for n in names)],
    )
    row = results[0].first()
    if row is None:
        raise NotFound(t("任务 %(task_id)s 不存在", task_id=task_id))
    locked_reads = dict(zip(names, results[1:], strict=True))
    if authorize is not None:
        authorize(locked_reads)
    instance = Locked(*row[:7])
    if row.task_state != "open":
        raise _not_open(conn, task_id)
    if not isinstance(data, Mapping):
        raise ValidationFailed(
            t("表单数据应为 JSON 对象"),
            [{"field": "(form)", "message": t("应为对象")}],
        )
    protected = sorted(hooks.REGISTRY.protected_keys.intersection(data))
    if protected:
        raise ValidationFailed(
            t("表单不能改动案件的标识"),
            [{"field": key, "message": t("由系统设定，不能由表单填写")} for key in protected],
        )
    loaded = versions.load(session, instance.process_version_id, instance.content_hash)
    if row.form:
        try:
            forms.validate(loaded.validator(row.form), dict(data), today=clock.today())
        except FormInvalid as refused:
            raise form_messages.worded(loaded.forms[row.form], refused) from None
    now = clock.now()
    batch = projections.Batch()
    batch.add(projections.COMPLETE_TASK, tid=task_id, now=now, actor=actor)
    properties = loaded.properties(row.task_spec)
    if check_data is not None:
        ui = loaded.forms.get(properties.get("formUiSchemaFilename") or "")
        check_data(ui if isinstance(ui, Mapping) else None)

    def apply(run: engine.Run) -> None:
        submitted = dict(data)
        action = properties.get("action")
        listeners = hooks.REGISTRY.after_completion
        if action or listeners:
            context = hooks.ActionContext(
                session=session,
                clock=clock,
                actor=actor,
                instance_id=instance.id,
                element=row.task_spec,
                data={**run.task_data(row.spiff_task_id), **submitted},
                task_id=task_id,
                properties=properties,
                writes=batch,
                locked_reads=locked_reads,
            )
            if action:
                hooks.REGISTRY.completion_action(action)(context)
            for listener in listeners:
                listener(context)
            submitted = context.data
        run.complete_user_task(row.spiff_task_id, submitted)

    recorder = effects.Recorder(
        session, instance_id=instance.id, tables=hooks.REGISTRY.recorded_tables
    )
    try:
        with recorder:
            advance(
                session,
                instance=instance,
                clock=clock,
                batch=batch,
                last_write=True,
                step=Step(
                    action="task.complete",
                    actor=actor,
                    object_type="task",
                    object_id=task_id,
                    apply=apply,
                    detail={"task": row.task_spec, "data": dict(data)},
                    completes=row.spiff_task_id,
                ),
            )
    except engine.TaskNotReady:
        raise _not_open(conn, task_id) from None
    recorder.write(task_id=task_id)
    return CompletedTask(
        id=task_id,
        instance_id=instance.id,
        task_spec=row.task_spec,
        completed_at=now,
        completed_by=actor,
        instance_status=instance.status,
    )


def _not_open(conn: Any, task_id: int) -> TaskAlreadyCompleted:
    task = conn.execute(_READ_TASK, {"tid": task_id}).one()
    if task.completed_by:
        return TaskAlreadyCompleted(
            t(
                "任务 %(task_id)s 已由 %(who)s 于 %(at)s（UTC）办结",
                task_id=task_id,
                who=task.completed_by,
                at=f"{task.completed_at:%Y-%m-%d %H:%M:%S}",
            )
        )
    if task.state == "completed":
        return TaskAlreadyCompleted(t("任务 %(task_id)s 已办结", task_id=task_id))
    return TaskAlreadyCompleted(t("任务 %(task_id)s 已取消", task_id=task_id))
