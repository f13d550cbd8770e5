"""Moving a running instance to another version of its process (迁移), and back.

A move is one locked change through `instances.advance`: the instance's state, its
process version, its human-task and timer rows and the audit row are written together,
and the state it had before is kept in `instance_migration` so that the move can be
reverted — in the same locked way, and only while the instance has not moved on since.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.engine import functions, instances, versions
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, Instance, InstanceMigration, ProcessVersion
from workflows.errors import Conflict, NotFound
from workflows.messages import t


@dataclass(frozen=True)
class Plan:
    """Whether one instance can move to the target version, and if not, why (in Chinese)."""

    instance_id: int
    can: bool
    reasons: list[str]


def plan(
    session: Session, *, instance: instances.Locked, target: ProcessVersion, clock: Clock
) -> Plan:
    """Whether `instance` (as read, not necessarily locked) can move to `target`: every change
    must lie downstream of where it stands, and the forms of its open steps must be the same."""
    reasons: list[str] = []
    if instance.status != "running":
        reasons.append(t("实例已办结，无需迁移"))
    if instance.process_key != target.process_key:
        reasons.append(
            t("目标版本属于另一个流程（%(process_key)s）", process_key=target.process_key)
        )
    if reasons:
        return Plan(instance.id, False, reasons)
    old = versions.load(session, instance.process_version_id, instance.content_hash)
    new = versions.load(session, target.id, target.content_hash)
    run = engine.restore(
        old.compiled, instance.state, clock=clock, functions=functions.bound(session, clock)
    )
    reasons.extend(run.migration_plan(new.compiled).reasons)
    open_steps = session.execute(
        select(HumanTask.task_spec, HumanTask.name, HumanTask.form).where(
            HumanTask.instance_id == instance.id, HumanTask.state == "open"
        )
    ).all()
    for element, name, form in open_steps:
        if form and old.forms.get(form) != new.forms.get(form):
            reasons.append(
                t(
                    "实例正停在步骤“%(name)s”（%(element)s），新版本修改了它的表单 %(form)s",
                    name=name,
                    element=element,
                    form=form,
                )
            )
    return Plan(instance.id, not reasons, reasons)


def _status_of(session: Session, instance_id: int) -> str:
    return str(session.execute(select(Instance.status).where(Instance.id == instance_id)).scalar())


def migrate(
    session: Session,
    *,
    instance_id: int,
    source: ProcessVersion,
    target: ProcessVersion,
    actor: str,
    clock: Clock,
) -> InstanceMigration:
    """Moves one instance from `source` to `target` under its lock, with its projections,
    audit row and a record to revert it by; flushes. Conflict if it is no longer on
    `source`; engine.MigrationRefused (with the reasons) if it cannot move."""
    instance = instances.lock_instance(session, instance_id)
    instance.status = _status_of(session, instance_id)
    if instance.process_version_id != source.id:
        raise Conflict(
            t(
                "实例 %(instance_id)s 已不在第 %(version)s 版上，请重新预检",
                instance_id=instance_id,
                version=source.version,
            )
        )
    found = plan(session, instance=instance, target=target, clock=clock)
    if not found.can:
        raise engine.MigrationRefused("；".join(found.reasons))
    old_state, new = instance.state, versions.load(session, target.id, target.content_hash)
    instances.advance(
        session,
        instance=instance,
        clock=clock,
        moves_to=target,
        step=instances.Step(
            action="instance.migrate",
            actor=actor,
            apply=lambda run: run.migrate_to(new.compiled),
            detail={
                "process": target.process_key,
                "from_version": source.version,
                "to_version": target.version,
            },
        ),
    )
    record = InstanceMigration(
        instance_id=instance_id,
        process_key=target.process_key,
        from_version_id=source.id,
        to_version_id=target.id,
        old_state=old_state,
        old_state_format=engine.STATE_FORMAT,
        instance_version=instance.version,
        migrated_by=actor,
        migrated_at=clock.now(),
    )
    session.add(record)
    session.flush()
    return record


def revert(
    session: Session, *, instance_id: int, migration_id: int, actor: str, clock: Clock
) -> InstanceMigration:
    """Puts the instance back on the version and state it had before `migration_id`, under its
    lock with projections and audit; flushes. Conflict if it moved on since, or was reverted."""
    instance = instances.lock_instance(session, instance_id)
    record = session.get(InstanceMigration, migration_id)
    if record is None or record.instance_id != instance_id:
        raise NotFound(
            t(
                "实例 %(instance_id)s 没有编号为 %(migration_id)s 的迁移记录",
                instance_id=instance_id,
                migration_id=migration_id,
            )
        )
    if record.reverted_at is not None:
        raise Conflict(
            t(
                "迁移 %(migration_id)s 已于 %(reverted_at)s 撤销",
                migration_id=migration_id,
                reverted_at=f"{record.reverted_at:%Y-%m-%d %H:%M}",
            )
        )
    if instance.process_version_id != record.to_version_id or instance.version != (
        record.instance_version
    ):
        raise Conflict(
            t(
                "实例 %(instance_id)s 在迁移后已继续办理或再次变更，不能撤销这次迁移",
                instance_id=instance_id,
            )
        )
    source = session.get(ProcessVersion, record.from_version_id)
    target = session.get(ProcessVersion, record.to_version_id)
    assert source is not None and target is not None  # foreign keys
    old = versions.load(session, source.id, source.content_hash)
    calendar = functions.LazyCalendar(session)
    saved = engine.restore(
        old.compiled,
        record.old_state,
        clock=clock,
        functions=functions.bound(session, clock, calendar),
    )
    instances.advance(
        session,
        instance=instance,
        clock=clock,
        moves_to=source,
        step=instances.Step(
            action="instance.migration_revert",
            actor=actor,
            apply=lambda run: run.adopt(saved),
            detail={
                "process": source.process_key,
                "migration": migration_id,
                "from_version": target.version,
                "to_version": source.version,
            },
        ),
    )
    record.reverted_by, record.reverted_at = actor, clock.now()
    session.flush()
    return record
