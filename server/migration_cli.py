"""`cadreflow migrate-instances`: 迁移运行中的案件 from the command line (designers only).

The rules are the domain's (workflows/definitions/migrations.py); the command owns its
transaction, as every command does."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from server.cli_support import handles_errors, pass_runtime

if TYPE_CHECKING:
    from workflows.definitions import migrations
    from workflows.runtime import Runtime


@click.command("migrate-instances")
@click.argument("key")
@click.option("--from", "from_version", type=int, required=True, help="The version they run on.")
@click.option("--to", "to_version", type=int, required=True, help="The newer version.")
@click.option("--dry-run", is_flag=True, help="Only say which can move and why not.")
@click.option(
    "--instance", "instance_ids", type=int, multiple=True, help="Only these (repeatable)."
)
@click.option("--user", required=True, help="Who migrates (username of a process designer).")
@pass_runtime
@handles_errors
def migrate_instances(
    rt: Runtime,
    key: str,
    from_version: int,
    to_version: int,
    dry_run: bool,
    instance_ids: tuple[int, ...],
    user: str,
) -> None:
    """Move the running instances of KEY on --from that can move to --to; the others are
    listed with the reasons and stay as they were. --dry-run writes nothing."""
    from workflows import access
    from workflows.definitions import migrations

    if dry_run:
        with rt.reading() as session:
            plans = migrations.dry_run(
                session,
                principal=access.principal_for(session, username=user),
                key=key,
                from_version=from_version,
                to_version=to_version,
                clock=rt.clock,
            )
        if not plans:
            click.echo(f"no instance of {key} runs on version {from_version}")
        for plan in plans:
            _echo_plan(plan)
        return
    with rt.transaction() as session:
        result = migrations.migrate(
            session,
            principal=access.principal_for(session, username=user),
            key=key,
            from_version=from_version,
            to_version=to_version,
            instance_ids=list(instance_ids) or None,
            clock=rt.clock,
        )
    for moved in result.moved:
        click.echo(
            f"migrated instance {moved.instance_id} {moved.case_number or ''} "
            f"to version {to_version} (migration {moved.migration_id})"
        )
    for plan in result.refused:
        _echo_plan(plan)
    click.echo(f"{len(result.moved)} migrated, {len(result.refused)} refused")


def _echo_plan(plan: migrations.InstancePlan) -> None:
    head = f"instance {plan.instance_id} {plan.case_number or ''}".rstrip()
    if plan.can_migrate:
        click.echo(f"{head}: 可以迁移")
    else:
        click.echo(f"{head}: 不能迁移：{'；'.join(plan.reasons)}")
