"""抄送 (DOMAIN.md §6): the holder of an open step copies named colleagues on it, with a note;
they are told, find it under 抄送我的 and may read the case as a reader of their role would
(workflows/access.py), nothing more. A copy is a row per colleague, never deleted; its one
change is the colleague's read mark."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from workflows import access
from workflows.access import Principal
from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t
from workflows.org import people as org_people
from workflows.tasks import colleagues, notifications
from workflows.tasks.models import TaskCopy

#: A note is at most this long.
NOTE_MAX = 2000
VERB = "抄送"


def copy(
    session: Session,
    *,
    principal: Principal,
    task_id: int,
    users: Sequence[str],
    note: str,
    clock: Clock,
) -> list[TaskCopy]:
    """抄送: the holder of the open step copies each named colleague (1–20, each one who may read
    the case, not recused, not the case's cadre, not copied on the step already) with a note;
    each is told. Returns the copies in the order named."""
    step = colleagues.held_step(session, principal=principal, task_id=task_id, verb=VERB)
    text = (note or "").strip()
    if not text or len(text) > NOTE_MAX:
        message = t("抄送说明应为 1–%(limit)s 个字", limit=NOTE_MAX)
        raise ValidationFailed(message, [{"field": "note", "message": message}])
    chosen = colleagues.chosen(session, step, principal, users, verb=VERB)
    already = set(
        session.execute(
            select(TaskCopy.username).where(
                TaskCopy.task_id == step.task.id,
                TaskCopy.username.in_([u.username for u in chosen]),
            )
        ).scalars()
    )
    if already:
        message = t("本步骤已抄送过 %(names)s", names="、".join(sorted(already)))
        raise ValidationFailed(message, [{"field": "users", "message": message}])
    now = clock.now()
    rows = [
        TaskCopy(
            task_id=step.task.id,
            instance_id=step.task.instance_id,
            case_id=step.case.id if step.case else None,
            copied_by=principal.username,
            username=user.username,
            note=text,
            created_at=now,
        )
        for user in chosen
    ]
    session.add_all(rows)
    session.flush()
    named = org_people.labels(session, [principal.username, *(u.username for u in chosen)])
    where = f"（{step.case.number}）" if step.case else ""
    for row in rows:
        notifications.notify(
            session,
            username=row.username,
            kind="copied",
            title=f"抄送：{step.task.name}{where}",
            body=f"{named[principal.username]} 将「{step.task.name}」抄送给你：{text}",
            task_id=step.task.id,
            case_id=row.case_id,
            clock=clock,
        )
        audit.record(
            session,
            at=now,
            actor=principal.username,
            action="task.copy",
            object_type="copy",
            object_id=row.id,
            instance_id=row.instance_id,
            detail={
                "task_id": row.task_id,
                "step_name": step.task.name,
                "username": row.username,
                "name": named[row.username],
                "note": text,
            },
        )
    return rows


def mark_read(session: Session, *, principal: Principal, copy_id: int, clock: Clock) -> TaskCopy:
    """The copied colleague marks their copy read (once; later marks change nothing)."""
    row = session.get(TaskCopy, copy_id) if 0 < copy_id <= access.MAX_ID else None
    if row is None or row.username != principal.username:
        raise NotFound(t("抄送 %(copy_id)s 不存在", copy_id=copy_id))
    if row.read_at is None:
        row.read_at = clock.now()
        session.flush()
        audit.record(
            session,
            at=row.read_at,
            actor=principal.username,
            action="copy.read",
            object_type="copy",
            object_id=row.id,
            detail={"task_id": row.task_id},
        )
    return row


#: `audit.verify`: every copy has its `task.copy` row.
COPIED = (
    select(TaskCopy.id).order_by(TaskCopy.id),
    lambda found: f"抄送 {found.id} 已发出",
)
