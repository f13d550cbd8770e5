"""`cadreflow task …`: 加签 and 抄送 (consult, answer, withdraw-consultation, copy) and 退回/撤回
(targets, return, withdraw) from the command line, acting as a
named user under the same rules as the API and the pages (workflows/tasks/consultations.py,
copies.py): only whoever may complete the step asks or copies, only colleagues who may read
the case by jurisdiction and are not recused are asked or copied."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from server.cli_support import handles_errors, pass_runtime

if TYPE_CHECKING:
    from workflows.runtime import Runtime
    from workflows.tasks import going_back


def _names(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


@click.group()
def task() -> None:
    """Working together on a step: 加签 (ask colleagues for opinions), 抄送 (copy them),
    退回 (send it back) and 撤回 (withdraw a step you completed)."""


@task.command("consult")
@click.argument("task_id", type=int)
@click.option("--user", required=True, help="Who asks: whoever may complete the step.")
@click.option("--ask", "ask_", required=True, help="Usernames to ask, comma-separated (1–20).")
@click.option("--question", required=True, help="The question (征求意见的问题).")
@pass_runtime
@handles_errors
def task_consult(rt: Runtime, task_id: int, user: str, ask_: str, question: str) -> None:
    """加签: ask colleagues for an opinion on TASK_ID; it cannot be completed until they answer."""
    from workflows import access
    from workflows.tasks import consultation_views, consultations

    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        row = consultations.ask(
            session,
            principal=principal,
            task_id=task_id,
            users=_names(ask_),
            question=question,
            clock=rt.clock,
        )
        view = consultation_views.one(session, principal, row.id)
    click.echo(f"consultation {view.id} on task {task_id}: waiting for {'、'.join(view.missing)}")


@task.command("answer")
@click.argument("consultation_id", type=int)
@click.option("--user", required=True, help="Who answers: one asked in the request.")
@click.option("--opinion", required=True, help="The opinion (意见).")
@pass_runtime
@handles_errors
def task_answer(rt: Runtime, consultation_id: int, user: str, opinion: str) -> None:
    """Answer request CONSULTATION_ID with an opinion."""
    from workflows import access
    from workflows.tasks import consultation_views, consultations

    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        consultations.answer(
            session,
            principal=principal,
            consultation_id=consultation_id,
            opinion=opinion,
            clock=rt.clock,
        )
        view = consultation_views.one(session, principal, consultation_id)
    left = f"still waiting for {'、'.join(view.missing)}" if view.missing else "every opinion is in"
    click.echo(f"consultation {consultation_id} answered by {user}; {left}")


@task.command("withdraw-consultation")
@click.argument("consultation_id", type=int)
@click.option("--user", required=True, help="Who withdraws: who asked, or the step's holder.")
@pass_runtime
@handles_errors
def task_withdraw(rt: Runtime, consultation_id: int, user: str) -> None:
    """撤回 the open request CONSULTATION_ID."""
    from workflows import access
    from workflows.tasks import consultations

    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        consultations.withdraw(
            session, principal=principal, consultation_id=consultation_id, clock=rt.clock
        )
    click.echo(f"consultation {consultation_id} withdrawn by {user}")


@task.command("copy")
@click.argument("task_id", type=int)
@click.option("--user", required=True, help="Who copies: whoever may complete the step.")
@click.option("--to", "to", required=True, help="Usernames to copy, comma-separated (1–20).")
@click.option("--note", required=True, help="The note (抄送说明).")
@pass_runtime
@handles_errors
def task_copy(rt: Runtime, task_id: int, user: str, to: str, note: str) -> None:
    """抄送: copy colleagues on TASK_ID with a note."""
    from workflows import access
    from workflows.tasks import copies

    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        rows = copies.copy(
            session,
            principal=principal,
            task_id=task_id,
            users=_names(to),
            note=note,
            clock=rt.clock,
        )
    click.echo(f"task {task_id} copied to {', '.join(row.username for row in rows)}")


@task.command("targets")
@click.argument("task_id", type=int)
@click.option("--user", required=True, help="Who asks (username): whoever may complete the task.")
@pass_runtime
@handles_errors
def targets(rt: Runtime, task_id: int, user: str) -> None:
    """The steps an open task may be sent back to, nearest first."""
    from workflows import access
    from workflows.tasks import going_back

    with rt.reading() as session:
        principal = access.principal_for(session, username=user)
        found = going_back.return_targets(
            session, principal=principal, task_id=task_id, clock=rt.clock
        )
    if not found:
        click.echo("no step to send this task back to")
    for t in found:
        refusal = f"  不能退回：{t.refusal}" if t.refusal else ""
        click.echo(f"{t.step:24} {t.name}（{t.completed_by_name or '-'}）{refusal}")


@task.command("return")
@click.argument("task_id", type=int)
@click.option("--to", "to_step", required=True, help="The step to send it back to (element id).")
@click.option("--reason", required=True, help="Why (退回理由).")
@click.option("--user", required=True, help="Who sends it back (username).")
@pass_runtime
@handles_errors
def return_(rt: Runtime, task_id: int, to_step: str, reason: str, user: str) -> None:
    """退回: cancel the open task and open an earlier step of its case again."""
    from workflows import access
    from workflows.tasks import going_back

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
    from workflows import access
    from workflows.tasks import going_back

    with rt.transaction() as session:
        principal = access.principal_for(session, username=user)
        went = going_back.withdraw(
            session, principal=principal, task_id=task_id, reason=reason, clock=rt.clock
        )
        _echo(went)


def _echo(went: going_back.WentBack) -> None:
    from workflows.tasks import going_back

    reopened = went.reopened
    holder = reopened.assignee or f"the {reopened.role} queue"
    click.echo(
        f"{going_back.KINDS[went.going_back.kind]}: task {reopened.id} {reopened.name} "
        f"[{reopened.task_spec}] reopened for {holder}; cancelled {went.cancelled or '-'}; "
        f"superseded {len(went.superseded)} record(s)"
    )
