"""迁移运行中的案件: move running instances of a process to a newer version of it.

A dry run says per instance whether it can move and why not; a batch moves those that
can, each through the engine's one locked path (`engine.migration`), and refuses the
rest with the reason; each move can be reverted per instance while the instance has not
moved on. Designers only (they decide about versions); each move and revert is audited.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows.access import MAX_ID, Principal, check_may_deploy
from workflows.cases.models import CaseFile
from workflows.engine import audit, instances, migration
from workflows.engine import spiff as engine
from workflows.engine.clock import Clock
from workflows.engine.models import Instance, InstanceMigration, ProcessVersion
from workflows.errors import Conflict, NotFound, ValidationFailed
from workflows.messages import t


@dataclass(frozen=True)
class InstancePlan:
    """One instance in a dry run or a refusal: can it move, and if not, why."""

    instance_id: int
    case_number: str | None
    can_migrate: bool
    reasons: list[str]


@dataclass(frozen=True)
class Moved:
    instance_id: int
    case_number: str | None
    migration_id: int


@dataclass
class BatchResult:
    from_version: int
    to_version: int
    moved: list[Moved] = field(default_factory=list)
    refused: list[InstancePlan] = field(default_factory=list)


@dataclass(frozen=True)
class MigrationView:
    """One recorded move, with whether it can still be reverted."""

    id: int
    instance_id: int
    case_number: str | None
    from_version: int
    to_version: int
    migrated_by: str
    migrated_at: datetime
    reverted_by: str | None
    reverted_at: datetime | None
    can_revert: bool


def _versions(
    session: Session, *, key: str, from_version: int, to_version: int
) -> tuple[ProcessVersion, ProcessVersion]:
    errors: list[dict[str, str]] = []
    found: dict[str, ProcessVersion] = {}
    for name, number in (("from_version", from_version), ("to_version", to_version)):
        row = (
            session.execute(
                select(ProcessVersion).where(
                    ProcessVersion.process_key == key, ProcessVersion.version == number
                )
            ).scalar_one_or_none()
            if 0 < number <= MAX_ID
            else None
        )
        if row is None:
            errors.append(
                {
                    "field": name,
                    "message": t("流程 %(key)s 没有第 %(number)s 版", key=key, number=number),
                }
            )
        else:
            found[name] = row
    if not errors and to_version <= from_version:
        errors.append(
            {
                "field": "to_version",
                "message": t(
                    "目标版本应比原版本（第 %(from_version)s 版）新", from_version=from_version
                ),
            }
        )
    if errors:
        if not session.execute(
            select(ProcessVersion.id).where(ProcessVersion.process_key == key).limit(1)
        ).first():
            raise NotFound(t("流程 %(key)s 未部署", key=key))
        raise ValidationFailed(t("迁移的版本有误"), errors)
    return found["from_version"], found["to_version"]


def _case_numbers(session: Session, instance_ids: Iterable[int]) -> dict[int, str]:
    ids = list(instance_ids)
    if not ids:
        return {}
    rows = session.execute(
        select(CaseFile.instance_id, CaseFile.number).where(CaseFile.instance_id.in_(ids))
    ).all()
    return {iid: number for iid, number in rows if iid is not None}


def _running_on(session: Session, version: ProcessVersion) -> list[int]:
    return list(
        session.execute(
            select(Instance.id)
            .where(Instance.process_version_id == version.id, Instance.status == "running")
            .order_by(Instance.id)
        ).scalars()
    )


def dry_run(
    session: Session,
    *,
    principal: Principal,
    key: str,
    from_version: int,
    to_version: int,
    clock: Clock,
) -> list[InstancePlan]:
    """Every running instance on `from_version`, with whether it can move to `to_version` and
    why not; nothing is written."""
    check_may_deploy(principal)
    source, target = _versions(session, key=key, from_version=from_version, to_version=to_version)
    ids = _running_on(session, source)
    numbers = _case_numbers(session, ids)
    plans = []
    for iid in ids:
        found = migration.plan(
            session, instance=instances.read_instance(session, iid), target=target, clock=clock
        )
        plans.append(InstancePlan(iid, numbers.get(iid), found.can, found.reasons))
    return plans


def migrate(
    session: Session,
    *,
    principal: Principal,
    key: str,
    from_version: int,
    to_version: int,
    instance_ids: list[int] | None,
    clock: Clock,
) -> BatchResult:
    """Moves the running instances on `from_version` that can move (all, or those listed) to
    `to_version`, each under its lock with projections and audit; the others are refused with
    their reasons and left as they were. Flushes; the caller commits."""
    check_may_deploy(principal)
    source, target = _versions(session, key=key, from_version=from_version, to_version=to_version)
    running = _running_on(session, source)
    asked = running if instance_ids is None else list(dict.fromkeys(instance_ids))
    numbers = _case_numbers(session, [iid for iid in asked if 0 < iid <= MAX_ID])
    result = BatchResult(from_version, to_version)
    for iid in asked:
        number = numbers.get(iid)
        if iid not in running:
            reason = t(
                "实例 %(iid)s 不是在第 %(from_version)s 版上运行的%(key)s实例",
                iid=iid,
                from_version=from_version,
                key=key,
            )
            result.refused.append(InstancePlan(iid, number, False, [reason]))
            continue
        try:
            record = migration.migrate(
                session,
                instance_id=iid,
                source=source,
                target=target,
                actor=principal.username,
                clock=clock,
            )
        except (engine.ProcessError, Conflict) as refused:
            reasons = str(refused).split("；")
            result.refused.append(InstancePlan(iid, number, False, reasons))
            continue
        result.moved.append(Moved(iid, number, record.id))
    audit.record(
        session,
        at=clock.now(),
        actor=principal.username,
        action="process.migrate_instances",
        object_type="process",
        object_id=key,
        detail={
            "from_version": from_version,
            "to_version": to_version,
            "moved": [m.instance_id for m in result.moved],
            "refused": [r.instance_id for r in result.refused],
        },
    )
    session.flush()
    return result


def revert(
    session: Session, *, principal: Principal, instance_id: int, migration_id: int, clock: Clock
) -> MigrationView:
    """Puts one instance back on the version and state it had before the move; refused (409)
    once it has moved on. Flushes; the caller commits."""
    check_may_deploy(principal)
    if not (0 < instance_id <= MAX_ID and 0 < migration_id <= MAX_ID):
        raise NotFound(
            t(
                "实例 %(instance_id)s 没有编号为 %(migration_id)s 的迁移记录",
                instance_id=instance_id,
                migration_id=migration_id,
            )
        )
    record = migration.revert(
        session,
        instance_id=instance_id,
        migration_id=migration_id,
        actor=principal.username,
        clock=clock,
    )
    return _views(session, [record])[0]


def history(session: Session, *, principal: Principal, key: str) -> list[MigrationView]:
    """The moves of a process's instances, newest first, with whether each can be reverted."""
    check_may_deploy(principal)
    records = list(
        session.execute(
            select(InstanceMigration)
            .where(InstanceMigration.process_key == key)
            .order_by(InstanceMigration.id.desc())
        ).scalars()
    )
    return _views(session, records)


def _views(session: Session, records: list[InstanceMigration]) -> list[MigrationView]:
    numbers = _case_numbers(session, {r.instance_id for r in records})
    version_ids = {r.from_version_id for r in records} | {r.to_version_id for r in records}
    versions = dict(
        session.execute(
            select(ProcessVersion.id, ProcessVersion.version).where(
                ProcessVersion.id.in_(version_ids)
            )
        ).all()
    )
    now = {
        row.id: (row.process_version_id, row.version)
        for row in session.execute(
            select(Instance.id, Instance.process_version_id, Instance.version).where(
                Instance.id.in_({r.instance_id for r in records})
            )
        )
    }
    return [
        MigrationView(
            id=r.id,
            instance_id=r.instance_id,
            case_number=numbers.get(r.instance_id),
            from_version=versions[r.from_version_id],
            to_version=versions[r.to_version_id],
            migrated_by=r.migrated_by,
            migrated_at=r.migrated_at,
            reverted_by=r.reverted_by,
            reverted_at=r.reverted_at,
            can_revert=r.reverted_at is None
            and now.get(r.instance_id) == (r.to_version_id, r.instance_version),
        )
        for r in records
    ]
