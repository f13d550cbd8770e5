"""加签 (DOMAIN.md §6): the holder of an open step asks named colleagues for a written opinion
before completing it.

Asking, answering and withdrawing each take the step's instance lock, the lock a completion
takes, and the completion listener below refuses to complete a step while a request of it
is open — under that lock, so no request slips in between the check and the completion,
whichever way the step is completed (API, pages, command line). A request is answered once
every asked colleague has given their opinion; the holder may withdraw it before that.
Nothing is deleted: answers and withdrawals change the request's state, each with its audit
row, and they show on the case's timeline and in the step's 办理记录.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.cases.models import CaseFile
from workflows.engine import audit, hooks, instances
from workflows.engine.clock import Clock
from workflows.engine.models import HumanTask, table_of
from workflows.engine.prepared import Prepared, Rows
from workflows.errors import Conflict, Forbidden, NotFound, OpinionsMissing, ValidationFailed
from workflows.messages import t
from workflows.org import people as org_people
from workflows.tasks import colleagues, notifications
from workflows.tasks.models import (
    CONSULTATION_ANSWERED,
    CONSULTATION_OPEN,
    CONSULTATION_WITHDRAWN,
    Consultation,
    ConsultationOpinion,
)

#: A question or an opinion is at most this long.
TEXT_MAX = 2000
VERB = "征求意见"


def ask(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    users: Sequence[str],
    question: str,
    clock: Clock,
) -> Consultation:
    """加签: the holder of the open step asks each named colleague (1–20, each one who may read
    the case, not recused, not the case's cadre, not asked on the step already) for an
    opinion on `question`; each is told, and the step cannot be completed until every
    opinion is in or the request is withdrawn."""
    step = colleagues.held_step(session, principal=principal, task_id=task_id, verb="加签")
    text = _text(question, field="question", what="征求意见的问题")
    asked = colleagues.chosen(session, step, principal, users, verb=VERB)
    waiting = set(missing(session, task_id=step.task.id))
    again = [u.username for u in asked if u.username in waiting]
    if again:
        message = t("已向 %(names)s 征求意见，尚未回复：请勿重复加签", names="、".join(again))
        raise ValidationFailed(message, [{"field": "users", "message": message}])
    now = clock.now()
    row = Consultation(
        task_id=step.task.id,
        instance_id=step.task.instance_id,
        case_id=step.case.id if step.case else None,
        asked_by=principal.username,
        question=text,
        asked_at=now,
        state=CONSULTATION_OPEN,
    )
    session.add(row)
    session.flush()
    for user in asked:
        session.add(ConsultationOpinion(consultation_id=row.id, username=user.username))
    session.flush()
    named = org_people.labels(session, [principal.username, *(u.username for u in asked)])
    where = f"（{step.case.number}）" if step.case else ""
    for user in asked:
        notifications.notify(
            session,
            username=user.username,
            kind="consulted",
            title=f"征求意见：{step.task.name}{where}",
            body=f"{named[principal.username]} 请你就「{step.task.name}」提出意见：{text}",
            task_id=step.task.id,
            case_id=row.case_id,
            clock=clock,
        )
    _record(
        session,
        principal.username,
        row,
        "consultation.ask",
        clock,
        step_name=step.task.name,
        users=[u.username for u in asked],
        names=[named[u.username] for u in asked],
        question=text,
    )
    return row


def answer(
    session: Session, *, principal: Principal, consultation_id: int, opinion: str, clock: Clock
) -> Consultation:
    """The asked colleague gives their opinion, once, while the request is open; the holder is
    told, and the request is answered when it was the last one missing."""
    row = _locked(session, principal, consultation_id)
    mine = session.execute(
        select(ConsultationOpinion).where(
            ConsultationOpinion.consultation_id == row.id,
            ConsultationOpinion.username == principal.username,
        )
    ).scalar_one_or_none()
    if mine is None:
        raise Forbidden(
            t(
                "第 %(id)s 号征求意见没有征求 %(username)s 的意见",
                id=row.id,
                username=principal.username,
            )
        )
    if mine.answered_at is not None:
        raise Conflict(
            t(
                "你已于 %(answered_at)s 回复过第 %(id)s 号征求意见",
                answered_at=f"{mine.answered_at:%Y-%m-%d %H:%M}",
                id=row.id,
            )
        )
    _refuse_closed(row)
    task = _open_task(session, row)
    mine.opinion = _text(opinion, field="opinion", what="意见")
    mine.answered_at = clock.now()
    session.flush()
    left = _missing_of(session, row.id)
    if not left:
        row.state, row.closed_at = CONSULTATION_ANSWERED, clock.now()
        session.flush()
    name = org_people.label_of(session, principal.username)
    where = _where(session, row)
    for username in sorted({row.asked_by, *([task.assignee] if task.assignee else [])}):
        notifications.notify(
            session,
            username=username,
            kind="opinion",
            title=f"意见已回复：{task.name}{where}",
            body=f"{name}：{mine.opinion}" + ("" if left else "（征求的意见已全部回复）"),
            task_id=task.id,
            case_id=row.case_id,
            clock=clock,
        )
    _record(
        session,
        principal.username,
        row,
        "consultation.answer",
        clock,
        step_name=task.name,
        name=name,
        opinion=mine.opinion,
        all_answered=not left,
    )
    return row


def withdraw(
    session: Session, *, principal: Principal, consultation_id: int, clock: Clock
) -> Consultation:
    """撤回: whoever asked, or whoever holds the step now, withdraws the open request; the
    colleagues still to answer are told; opinions already given stay on record."""
    row = _locked(session, principal, consultation_id)
    _refuse_closed(row)
    task = _open_task(session, row)
    if not may_withdraw(session, principal, row, task):
        asker = org_people.label_of(session, row.asked_by)
        raise Forbidden(t("只有加签人%(asker)s或本步骤的办理人可以撤回征求意见", asker=asker))
    who = org_people.label_of(session, principal.username)
    _close(
        session,
        row,
        actor=principal.username,
        step_name=task.name,
        told=f"{who}撤回了就「{task.name}」征求你意见的请求，无需再回复。",
        clock=clock,
    )
    return row


@hooks.after_cancelling
def _withdraw_on_cancelled_steps(cancelled: hooks.CancelledSteps) -> None:
    """The open requests on steps a step took away (a 退回 or 撤回 undid them, the process
    ended or went elsewhere) are withdrawn, and the colleagues still to answer are told why."""
    session = cancelled.session
    rows = session.execute(
        select(Consultation, HumanTask.name)
        .join(HumanTask, HumanTask.id == Consultation.task_id)
        .where(
            HumanTask.instance_id == cancelled.instance_id,
            HumanTask.spiff_task_id.in_(cancelled.spiff_task_ids),
            Consultation.state == CONSULTATION_OPEN,
        )
        .order_by(Consultation.id)
    ).all()
    for row, name in rows:
        told = (
            f"「{name}」已被{cancelled.why}，无需再回复。"
            if cancelled.why
            else f"「{name}」已取消（流程已走向别处），无需再回复。"
        )
        _close(
            session, row, actor=cancelled.actor, step_name=name, told=told, clock=cancelled.clock
        )
    if rows:
        session.flush()


def _close(
    session: Session, row: Consultation, *, actor: str, step_name: str, told: str, clock: Clock
) -> None:
    """The open request is withdrawn; the colleagues still to answer are told `told`."""
    left = _missing_of(session, row.id)
    row.state, row.closed_at, row.withdrawn_by = CONSULTATION_WITHDRAWN, clock.now(), actor
    session.flush()
    where = _where(session, row)
    for username in left:
        notifications.notify(
            session,
            username=username,
            kind="consult_withdrawn",
            title=f"征求意见已撤回：{step_name}{where}",
            body=told,
            task_id=row.task_id,
            case_id=row.case_id,
            clock=clock,
        )
    _record(session, actor, row, "consultation.withdraw", clock, step_name=step_name, missing=left)


def open_on(session: Session, *, task_ids: list[int]) -> list[int]:
    """Which of these steps have an open request for opinions."""
    if not task_ids:
        return []
    return list(
        session.execute(
            select(Consultation.task_id).where(
                Consultation.task_id.in_(task_ids), Consultation.state == CONSULTATION_OPEN
            )
        ).scalars()
    )


def may_withdraw(session: Session, principal: Principal, row: Consultation, task: Any) -> bool:
    """Whoever asked, or whoever may complete the step now and was not asked in it, withdraws
    an open request."""
    if row.state != CONSULTATION_OPEN or task.state != "open":
        return False
    if principal.username == row.asked_by:
        return True
    asked = session.execute(
        select(ConsultationOpinion.id).where(
            ConsultationOpinion.consultation_id == row.id,
            ConsultationOpinion.username == principal.username,
        )
    ).first()
    if asked is not None:  # one asked answers the request, never withdraws it
        return False
    facts = access.task_facts(session, row.task_id)
    return facts is not None and access.work_refusal(session, principal, facts) is None


_C, _O = table_of(Consultation), table_of(ConsultationOpinion)
#: Asked on every completion (`_no_open_request`), read with the instance lock
#: (`Registry.read_with_lock`, see `workflows.tasks.register`).
WAITING = Prepared(
    "consultations.waiting",
    select(_O.c.username)
    .join(_C, _C.c.id == _O.c.consultation_id)
    .where(
        _C.c.task_id == bindparam("tid"),
        _C.c.state == CONSULTATION_OPEN,
        _O.c.answered_at.is_(None),
    ),
)


def missing(session: Session, *, task_id: int, read: Rows | None = None) -> list[str]:
    """Who has not yet answered an open request for opinions on the step, by username
    (`read`: what `WAITING` returned, when the caller read it already)."""
    rows = WAITING.execute(session.connection(), {"tid": task_id}) if read is None else read
    return sorted({row.username for row in rows})


def opinions_missing(
    session: Session, *, task_id: int, read: Rows | None = None
) -> OpinionsMissing | None:
    """Why the step may not be completed yet: the names of those whose opinions are missing."""
    waiting = missing(session, task_id=task_id, read=read)
    if not waiting:
        return None
    named = org_people.labels(session, waiting)
    return OpinionsMissing(
        t(
            "加签尚未完成，不能办理：%(items)s 的意见尚未回复。请待其回复，或撤回征求意见后再办理",
            items="、".join(named[u] for u in waiting),
        )
    )


@hooks.after_any_completion
def _no_open_request(context: hooks.ActionContext) -> None:
    """A step with an open request for opinions is not completed (judged on `WAITING` as read
    with the instance lock)."""
    if context.task_id is None:
        return
    refused = opinions_missing(
        context.session, task_id=context.task_id, read=context.locked_reads.get(WAITING.name)
    )
    if refused is not None:
        raise refused


# -- helpers -----------------------------------------------------------------------------


def visible(session: Session, principal: Principal, consultation_id: int) -> Consultation:
    """The request if the principal was asked in it, asked it, or may complete its step;
    NotFound otherwise, as if it did not exist."""
    row = (
        session.get(Consultation, consultation_id) if 0 < consultation_id <= access.MAX_ID else None
    )
    if row is None or not _sees(session, principal, row):
        raise NotFound(t("征求意见 %(consultation_id)s 不存在", consultation_id=consultation_id))
    return row


def _sees(session: Session, principal: Principal, row: Consultation) -> bool:
    if principal.username == row.asked_by:
        return True
    asked = session.execute(
        select(ConsultationOpinion.id).where(
            ConsultationOpinion.consultation_id == row.id,
            ConsultationOpinion.username == principal.username,
        )
    ).first()
    if asked is not None:
        return True
    facts = access.task_facts(session, row.task_id)
    return (
        facts is not None
        and access.work_refusal(session, principal, facts, ignore_assignment=True) is None
    )


def _locked(session: Session, principal: Principal, consultation_id: int) -> Consultation:
    row = visible(session, principal, consultation_id)
    instances.lock_instance(session, row.instance_id)
    session.refresh(row)
    return row


def _refuse_closed(row: Consultation) -> None:
    if row.state == CONSULTATION_WITHDRAWN:
        raise Conflict(
            t(
                "第 %(id)s 号征求意见已由 %(withdrawn_by)s 撤回",
                id=row.id,
                withdrawn_by=row.withdrawn_by,
            )
        )
    if row.state != CONSULTATION_OPEN:
        raise Conflict(t("第 %(id)s 号征求意见已全部回复", id=row.id))


def _open_task(session: Session, row: Consultation) -> HumanTask:
    task = session.get(HumanTask, row.task_id)
    assert task is not None
    session.refresh(task)
    if task.state != "open":
        raise Conflict(
            t(
                "步骤「%(name)s」已%(value)s，征求意见已失效",
                name=task.name,
                value="办结" if task.state == "completed" else "取消",
            )
        )
    return task


def _missing_of(session: Session, consultation_id: int) -> list[str]:
    return list(
        session.execute(
            select(ConsultationOpinion.username)
            .where(
                ConsultationOpinion.consultation_id == consultation_id,
                ConsultationOpinion.answered_at.is_(None),
            )
            .order_by(ConsultationOpinion.username)
        ).scalars()
    )


def _where(session: Session, row: Consultation) -> str:
    case = session.get(CaseFile, row.case_id) if row.case_id is not None else None
    return f"（{case.number}）" if case else ""


def _text(value: str, *, field: str, what: str) -> str:
    text = (value or "").strip()
    if not text or len(text) > TEXT_MAX:
        message = t("%(what)s应为 1–%(limit)s 个字", what=what, limit=TEXT_MAX)
        raise ValidationFailed(message, [{"field": field, "message": message}])
    return text


def _record(
    session: Session, actor: str, row: Consultation, action: str, clock: Clock, **detail: Any
) -> None:
    audit.record(
        session,
        at=clock.now(),
        actor=actor,
        action=action,
        object_type="consultation",
        object_id=row.id,
        instance_id=row.instance_id,
        detail={"consultation_id": row.id, "task_id": row.task_id, **detail},
    )


#: `audit.verify`: every request has its `consultation.ask` row.
ASKED = (
    select(Consultation.id).order_by(Consultation.id),
    lambda found: f"征求意见 {found.id} 已发出",
)
