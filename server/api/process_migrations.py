"""迁移运行中的案件: dry run, batch migration and per-instance revert (designers only).

Routes on the processes blueprint; the rules are the domain's
(workflows/definitions/migrations.py, workflows/engine/migration.py)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from marshmallow import Schema, fields, validate

from server import auth
from server.api.processes import blp
from workflows.access import MAX_ID
from workflows.definitions import migrations


def _version(description: str) -> fields.Integer:
    return fields.Integer(
        required=True,
        strict=True,
        validate=validate.Range(min=1, max=MAX_ID),
        metadata={"description": description},
    )


class MigrationArgs(Schema):
    from_version = _version("实例现在所在的版本号")
    to_version = _version("迁移到的版本号（须比原版本新）")


class BatchArgs(MigrationArgs):
    instance_ids = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_ID)),
        load_default=None,
        validate=validate.Length(min=1, max=1000),
        metadata={"description": "只迁移这些实例（省略则迁移原版本上所有可迁移的实例）"},
    )


class InstancePlanSchema(Schema):
    instance_id = fields.Integer(required=True)
    case_number = fields.String(allow_none=True, metadata={"description": "案件编号"})
    can_migrate = fields.Boolean(required=True, metadata={"description": "能否迁移"})
    reasons = fields.List(
        fields.String(), required=True, metadata={"description": "不能迁移的原因（中文）"}
    )


class MovedSchema(Schema):
    instance_id = fields.Integer(required=True)
    case_number = fields.String(allow_none=True)
    migration_id = fields.Integer(required=True, metadata={"description": "迁移记录，撤销时用"})


class BatchResultSchema(Schema):
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    moved = fields.List(fields.Nested(MovedSchema), required=True)
    refused = fields.List(fields.Nested(InstancePlanSchema), required=True)


class MigrationSchema(Schema):
    id = fields.Integer(required=True)
    instance_id = fields.Integer(required=True)
    case_number = fields.String(allow_none=True)
    from_version = fields.Integer(required=True)
    to_version = fields.Integer(required=True)
    migrated_by = fields.String(required=True)
    migrated_at = fields.DateTime(required=True)
    reverted_by = fields.String(allow_none=True)
    reverted_at = fields.DateTime(allow_none=True)
    can_revert = fields.Boolean(
        required=True, metadata={"description": "现在能否撤销（实例迁移后未再变化）"}
    )


@blp.route("/processes/<string:key>/migrations/dry-run", methods=["POST"])
@blp.arguments(MigrationArgs)
@blp.response(200, InstancePlanSchema(many=True))
def migration_dry_run(args: dict[str, Any], key: str) -> Any:
    """预检: every running instance on `from_version`, whether it can move to `to_version` (only
    when every change lies downstream of where it stands) and why not. Nothing is written.
    422 names a version that does not exist or a target that is not newer."""
    rt = auth.runtime()
    with auth.reading() as (session, principal):
        plans = migrations.dry_run(
            session,
            principal=principal,
            key=key,
            from_version=args["from_version"],
            to_version=args["to_version"],
            clock=rt.clock,
        )
    return [asdict(p) for p in plans]


@blp.route("/processes/<string:key>/migrations", methods=["GET"])
@blp.response(200, MigrationSchema(many=True))
def list_migrations(key: str) -> Any:
    """The recorded moves of this process's instances, newest first, each saying whether it
    can still be reverted."""
    with auth.reading() as (session, principal):
        return [asdict(m) for m in migrations.history(session, principal=principal, key=key)]


@blp.route("/processes/<string:key>/migrations", methods=["POST"])
@blp.arguments(BatchArgs)
@blp.response(200, BatchResultSchema)
def migrate_instances(args: dict[str, Any], key: str) -> Any:
    """迁移: move the running instances on `from_version` (all, or `instance_ids`) that can move
    to `to_version`, each in the one locked path with its tasks, timers and audit row; the
    others are listed in `refused` with the reasons and stay as they were."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        result = migrations.migrate(
            session,
            principal=principal,
            key=key,
            from_version=args["from_version"],
            to_version=args["to_version"],
            instance_ids=args["instance_ids"],
            clock=rt.clock,
        )
        return asdict(result)


@blp.route("/instances/<int:instance_id>/migrations/<int:migration_id>/revert", methods=["POST"])
@blp.response(200, MigrationSchema)
def revert_migration(instance_id: int, migration_id: int) -> Any:
    """撤销迁移: put the instance back on the version and state it had before the move. 409 once
    the instance has moved on since (a step completed, a timer fired) or if already reverted."""
    rt = auth.runtime()
    with auth.writing() as (session, principal):
        view = migrations.revert(
            session,
            principal=principal,
            instance_id=instance_id,
            migration_id=migration_id,
            clock=rt.clock,
        )
        return asdict(view)
