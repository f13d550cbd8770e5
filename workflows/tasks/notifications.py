"""站内通知: in-app messages to one user — assigned (分派), urged (催办), due soon (即将到期),
overdue (已逾期), decided (决定已送达), asked for an opinion (征求意见), an opinion given (意见回复),
a request withdrawn (征求意见已撤回), copied (抄送), sent back (退回).

Task actions raise them as they happen; the completion that serves a case's decision
(送达: the case records the day of receipt) tells the cadre, never the deciding itself; the
scheduler's `sweep` raises the deadline notices and the assignments a process made
(`assigneeFrom`), each once per task and user thanks
to the unique `dedupe` key. A notice goes to a task's assignee, or, while nobody holds
it, to everyone who could take it: the active users of its role in its org unit (for a
cadre's own task, the cadre's users).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    CompoundSelect,
    String,
    and_,
    bindparam,
    cast,
    exists,
    func,
    literal,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from workflows.cases.models import CaseFile
from workflows.engine import audit, hooks, settings
from workflows.engine.clock import Clock
from workflows.engine.db import Database
from workflows.engine.models import AuditEvent, HumanTask, table_of
from workflows.errors import NotFound, ValidationFailed
from workflows.messages import t
from workflows.org.models import User
from workflows.tasks import outbox, queues
from workflows.tasks.models import Notification

log = logging.getLogger(__name__)

KINDS = {
    "assigned": "分派",
    "urged": "催办",
    "due_soon": "即将到期",
    "overdue": "已逾期",
    "decided": "决定已送达",
    "returned": "退回",
    "consulted": "征求意见",
    "opinion": "意见回复",
    "consult_withdrawn": "征求意见已撤回",
    "copied": "抄送",
}
#: Actions by which a person (not the process) gave a task its assignee; see `_assigned_by_process`.
REASSIGNING_ACTIONS = ("task.claim", "task.delegate", "task.transfer")
_NOTIFICATIONS = table_of(Notification)


def notify(
    session: Session,
    *,
    username: str,
    kind: str,
    title: str,
    body: str,
    task_id: int | None = None,
    case_id: int | None = None,
    dedupe: str | None = None,
    clock: Clock,
) -> int | None:
    """Adds one notice and returns its id; with `dedupe`, a notice with that key already
    there (or added by a concurrent sweep) wins and nothing is added (None). Where mail is
    configured, the notice's e-mail is queued with it (`outbox.enqueue`)."""
    if kind not in KINDS:
        raise ValidationFailed(
            t("未知的通知类型 %(kind)r", kind=kind),
            [
                {
                    "field": "kind",
                    "message": t("应为以下之一：%(choices)s", choices=", ".join(KINDS)),
                }
            ],
        )
    conn = session.connection()
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = insert(_NOTIFICATIONS).values(
        username=username,
        kind=kind,
        title=title[:400],
        body=body,
        task_id=task_id,
        case_id=case_id,
        dedupe=dedupe,
        created_at=clock.now(),
        read_at=None,
    )
    if dedupe is not None:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe"])
    found = conn.execute(statement.returning(_NOTIFICATIONS.c.id)).scalar_one_or_none()
    if found is None:
        return None
    outbox.enqueue(
        session,
        notification_id=int(found),
        username=username,
        title=title,
        body=body,
        task_id=task_id,
        case_id=case_id,
        clock=clock,
    )
    return int(found)


def addressees(where: ColumnElement[bool]) -> CompoundSelect:
    """(task_id, username) of whom the notices of the tasks matching `where` go to: the
    assignee, or while unassigned every active user who could take the task."""
    assigned = (
        select(HumanTask.id.label("task_id"), User.username.label("username"))
        .join(User, User.username == HumanTask.assignee)
        .where(where, User.active.is_(True))
    )
    pool = (
        select(HumanTask.id, User.username)
        .join(User, and_(User.role == HumanTask.role, User.org_unit_code == HumanTask.org_unit))
        .where(
            where, HumanTask.assignee.is_(None), HumanTask.role != "cadre", User.active.is_(True)
        )
    )
    own = (
        select(HumanTask.id, User.username)
        .join(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
        .join(User, and_(User.cadre_id == CaseFile.cadre_id, User.role == "cadre"))
        .where(
            where, HumanTask.assignee.is_(None), HumanTask.role == "cadre", User.active.is_(True)
        )
    )
    return union_all(assigned, pool, own)


def recipients(session: Session, *, task_id: int) -> list[str]:
    """Who a notice about this task goes to now (see `addressees`)."""
    rows = session.execute(addressees(HumanTask.id == task_id)).all()
    return sorted({row.username for row in rows})


def unread_count(session: Session, *, username: str) -> int:
    """How many of this user's notices are unread."""
    return int(session.execute(_UNREAD, {"username": username}).scalar_one())


_UNREAD = (
    select(func.count())
    .select_from(Notification)
    .where(Notification.username == bindparam("username"), Notification.read_at.is_(None))
)


def mark_read(session: Session, *, username: str, ids: Sequence[int] | None, clock: Clock) -> int:
    """Marks this user's notices read — the listed ones, or all unread when `ids` is None —
    and returns how many changed; NotFound names a listed id that is not theirs."""
    table = _NOTIFICATIONS
    query = update(table).where(table.c.username == username, table.c.read_at.is_(None))
    if ids is not None:
        wanted = sorted(set(ids))
        own = set(
            session.execute(
                select(Notification.id).where(
                    Notification.id.in_(wanted), Notification.username == username
                )
            ).scalars()
        )
        missing = [i for i in wanted if i not in own]
        if missing:
            raise NotFound(t("通知 %(missing)s 不存在", missing=missing[0]))
        query = query.where(table.c.id.in_(wanted))
    changed = session.connection().execute(query.values(read_at=clock.now())).rowcount
    audit.record(
        session,
        at=clock.now(),
        actor=username,
        action="notification.read",
        object_type="user",
        object_id=username,
        detail={"ids": sorted(set(ids)) if ids is not None else "all", "marked": changed},
    )
    return changed


# -- the sweep ---------------------------------------------------------------------------


def sweep(db: Database, *, clock: Clock, batch: int = 500) -> int:
    """Raises every missing process-assignment notice, batch by batch, each batch its own
    transaction; returns how many it added. Running it again adds nothing new. (Reminders and
    overdue notices are the steps' alarms: `workflows.tasks.deadlines`.)"""
    added = 0
    for kind in ("assigned",):
        while True:
            with db.transaction() as session:
                settings.sync_clock(session, clock)
                rows = session.execute(_pending(session, kind, clock=clock).limit(batch)).all()
                count = sum(_raise(session, kind, row, clock=clock) for row in rows)
                if count:
                    audit.record(
                        session,
                        at=clock.now(),
                        actor="scheduler",
                        action="notification.sweep",
                        object_type="notification",
                        object_id=kind,
                        detail={"kind": kind, "added": count},
                    )
            added += count
            if len(rows) < batch:
                break
    return added


def _pending(session: Session, kind: str, *, clock: Clock) -> Any:
    """(task, user) pairs owed a `kind` notice that they have not had yet."""
    now = clock.now()
    where: ColumnElement[bool]
    if kind == "overdue":
        where = and_(HumanTask.state == "open", HumanTask.due_at < now)
    elif kind == "due_soon":
        where = and_(
            HumanTask.state == "open",
            HumanTask.due_at >= now,
            HumanTask.due_at < queues.due_soon_limit(session, clock),
        )
    else:
        where = and_(
            HumanTask.state == "open", HumanTask.assignee.is_not(None), _assigned_by_process()
        )
    pairs = addressees(where).subquery()
    if kind == "assigned":  # the task actions raise theirs without a key: look for any
        had = exists().where(
            Notification.kind == "assigned",
            Notification.task_id == pairs.c.task_id,
            Notification.username == pairs.c.username,
        )
    else:
        had = exists().where(Notification.dedupe == _key(kind, pairs.c.task_id, pairs.c.username))
    return (
        select(
            pairs.c.task_id,
            pairs.c.username,
            HumanTask.name,
            HumanTask.due_at,
            CaseFile.id.label("case_id"),
            CaseFile.number.label("case_number"),
        )
        .join(HumanTask, HumanTask.id == pairs.c.task_id)
        .outerjoin(CaseFile, CaseFile.instance_id == HumanTask.instance_id)
        .where(~had)
        .order_by(pairs.c.task_id, pairs.c.username)
    )


def _assigned_by_process() -> ColumnElement[bool]:
    """The task's assignee was set by the process (`assigneeFrom`), not by a person: a
    claim, delegation or transfer leaves an audit row on the task and notifies itself."""
    return ~exists().where(
        AuditEvent.instance_id == HumanTask.instance_id,
        AuditEvent.object_type == "task",
        AuditEvent.object_id == cast(HumanTask.id, String),
        AuditEvent.action.in_(REASSIGNING_ACTIONS),
    )


def _key(kind: str, task_id: Any, username: Any) -> Any:
    return literal(f"{kind}:") + cast(task_id, String) + literal(":") + username


def _raise(session: Session, kind: str, row: Any, *, clock: Clock) -> int:
    where = f"（{row.case_number}）" if row.case_number else ""
    due = _local(row.due_at, clock)
    title, body = {
        "overdue": (f"已逾期：{row.name}{where}", f"办理期限 {due} 已过，请尽快办理。"),
        "due_soon": (f"即将到期：{row.name}{where}", f"请在 {due} 前办理。"),
        "assigned": (f"新分派：{row.name}{where}", "流程已将本任务指定由你办理。"),
    }[kind]
    added = notify(
        session,
        username=row.username,
        kind=kind,
        title=title,
        body=body,
        task_id=row.task_id,
        case_id=row.case_id,
        dedupe=f"{kind}:{row.task_id}:{row.username}",
        clock=clock,
    )
    return 0 if added is None else 1


def _local(moment: datetime | None, clock: Clock) -> str:
    return "" if moment is None else f"{moment.astimezone(clock.tz):%Y-%m-%d %H:%M}"


# -- decisions ---------------------------------------------------------------------------

#: Kinds of case whose decision reaches the cadre by a step recording the day of receipt (送达):
#: workflows/cases/served.py's SERVING_KINDS (not imported: the cases package imports this one's
#: neighbours, and the list is the processes', not the notices').
SERVED_KINDS = {
    "accountability": "问责决定",
    "tolerance_review": "容错认定",
    "appeal": "申诉复核决定",
}


@hooks.after_any_completion
def _tell_the_cadre(context: hooks.ActionContext) -> None:
    """The decision of a case reached its cadre (送达: the case now records the day they received
    it): the cadre's users hear of it, once per case. Never before: a decision not yet served
    is not the cadre's to know (DOMAIN.md §6), so deciding alone tells nobody."""
    if context.data.get("case_id") is None:
        return
    session = context.session
    case = session.get(CaseFile, int(context.data["case_id"]))
    if (
        case is None
        or case.cadre_id is None
        or case.received_on is None
        or case.kind not in SERVED_KINDS
    ):
        return
    told = select(Notification.username).where(
        Notification.case_id == case.id, Notification.kind == "decided"
    )
    users = session.execute(
        select(User.username)
        .where(
            User.cadre_id == case.cadre_id,
            User.role == "cadre",
            User.active.is_(True),
            User.username.not_in(told),
        )
        .order_by(User.username)
    ).scalars()
    for username in users:
        notify(
            session,
            username=username,
            kind="decided",
            title=f"{SERVED_KINDS[case.kind]}已送达（{case.number}）",
            body=f"{case.title}：决定已于 {case.received_on.isoformat()} 送达，请在“我的案件”查看。",
            case_id=case.id,
            dedupe=f"decided:case:{case.id}:{username}",
            clock=context.clock,
        )
