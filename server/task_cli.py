"""`cadreflow task …`: 退回 and 撤回 from the command line, as the named user."""

from __future__ import annotations

import click

from server.cli_support import handles_errors, pass_runtime
from workflows import access
from workflows.runtime import Runtime
from workflows.tasks import going_back


@click.group()
def task() -> None:
    """Work on a task as a user: send it back (退回), withdraw it (撤回)."""


@task.command("targets")
@click.argument("task_id", type=int)
@click.option("--user", required=True, help="Who asks (username): whoever may complete the task.")
@pass_runtime
@handles_errors
def targets(rt: Runtime, task_id: int, user: str) -> None:
    """The steps an open task may be sent back to, nearest first."""
    with rt.reading() as session:
        principal = access.principal_for(session, username=user)
        found = going_back.return_targets(
            session, principal=principal, task_id=task_id, clock=rt.clock
        )
    if not found:
        click.echo("no step to send this task back to")
    for t in found:
        refusal = f"  不能退回：{t.refusal}" if t.refusal else ""
        click.echo(f"{t.step:24} {t.name}（{t.completed_by or '-'}）{refusal}")


@task.command("return")
@click.argument("task_id", type=int)
@click.option("--to", "to_step", required=True, help="The step to send it back to (element id).")
@click.option("--reason", required=True, help="Why (退回理由).")
@click.option("--user", required=True, help="Who sends it back (username).")
@pass_runtime
@handles_errors
def return_(rt: Runtime, task_id: int, to_step: str, reason: str, user: str) -> None:
    """退回: cancel the open task and open an earlier step of its case again."""
    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        went = going_back.send_back(
            session,
            principal=principal,
            task_id=task_id,
            to_step=to_step,
            reason=reason,
            clock=rt.clock,
        )
        _echo(went)


@task.command("withdraw")
@click.argument("task_id", type=int)
@click.option("--reason", required=True, help="Why (撤回理由).")
@click.option("--user", required=True, help="Who completed the step (username).")
@pass_runtime
@handles_errors
def withdraw(rt: Runtime, task_id: int, reason: str, user: str) -> None:
    """撤回: open a step the user completed again, while nobody took up the next one."""
    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        went = going_back.withdraw(
            session, principal=principal, task_id=task_id, reason=reason, clock=rt.clock
        )
        _echo(went)


def _echo(went: going_back.WentBack) -> None:
    reopened = went.reopened
    holder = reopened.assignee or f"the {reopened.role} queue"
    click.echo(
        f"{going_back.KINDS[went.going_back.kind]}: task {reopened.id} {reopened.name} "
        f"[{reopened.task_spec}] reopened for {holder}; cancelled {went.cancelled or '-'}; "
        f"superseded {len(went.superseded)} record(s)"
    )
