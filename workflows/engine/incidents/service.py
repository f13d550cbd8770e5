"""Writing incidents: a failure opens one on its instance (or counts another attempt on the
open one) and schedules the next automatic attempt with backoff; a firing that succeeds
closes it. Every change is audited in the caller's transaction; nothing here commits.

Backoff: the n-th failure waits RETRY_BASE × RETRY_FACTOR^(n-1) (5, 10, 20, 40 minutes)
before the sweep tries the instance again; after MAX_ATTEMPTS failures it waits for a person
(`next_retry_at` is NULL). The instance's timer rows keep their due time throughout: the
sweep passes over an instance whose open incident is not due for a retry.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Exists,
    bindparam,
    exists,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from workflows.engine import audit
from workflows.engine.clock import Clock
from workflows.engine.incidents.models import CANCELLED, OPEN, RESOLVED, TIMER, Incident
from workflows.engine.models import table_of

MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=5)
RETRY_FACTOR = 2
#: How much of an error message an incident keeps.
MAX_MESSAGE = 2000

INCIDENTS = table_of(Incident)
_OPEN_OF = select(INCIDENTS.c.id, INCIDENTS.c.attempts, INCIDENTS.c.first_seen).where(
    INCIDENTS.c.instance_id == bindparam("iid"), INCIDENTS.c.status == OPEN
)
_OPEN_AMONG = select(INCIDENTS.c.instance_id).where(
    INCIDENTS.c.status == OPEN, INCIDENTS.c.instance_id.in_(bindparam("ids", expanding=True))
)
_COUNT_ATTEMPT = (
    update(INCIDENTS)
    .where(INCIDENTS.c.id == bindparam("inc"))
    .values(
        attempts=bindparam("attempts"),
        last_seen=bindparam("now"),
        message=bindparam("message"),
        element=bindparam("element"),
        next_retry_at=bindparam("retry_at"),
    )
)
_CLOSE = (
    update(INCIDENTS)
    .where(INCIDENTS.c.id == bindparam("inc"), INCIDENTS.c.status == OPEN)
    .values(
        status=bindparam("status"),
        closed_at=bindparam("now"),
        closed_by=bindparam("actor"),
        next_retry_at=None,
    )
)


def holds(instance_id: ColumnElement[int], now: BindParameter[Any]) -> Exists:
    """A clause over an instance id column: an open incident holds the instance's timers
    (none is due for a retry yet, or none will be retried without a person)."""
    return exists().where(
        INCIDENTS.c.instance_id == instance_id,
        INCIDENTS.c.status == OPEN,
        or_(INCIDENTS.c.next_retry_at.is_(None), INCIDENTS.c.next_retry_at > now),
    )


def retry_delay(attempts: int) -> timedelta | None:
    """How long after its `attempts`-th failure an incident is retried; None: no more."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_BASE * RETRY_FACTOR ** (attempts - 1)


def record_failure(
    session: Session,
    *,
    instance_id: int,
    element: str | None,
    message: str,
    clock: Clock,
    actor: str = "scheduler",
    kind: str = TIMER,
    detail: dict[str, object] | None = None,
) -> int:
    """Opens an incident on the instance, or counts one more attempt on its open one; audits
    the failure (`timer.error`); flushes. Returns the incident id."""
    now = clock.now()
    text = message.strip()[:MAX_MESSAGE] or "未知错误"
    conn = session.connection()
    row = conn.execute(_OPEN_OF, {"iid": instance_id}).first()
    attempts = 1 if row is None else row.attempts + 1
    delay = retry_delay(attempts)
    retry_at = now + delay if delay is not None else None
    if row is None:
        incident_id = int(
            conn.execute(
                insert(INCIDENTS).returning(INCIDENTS.c.id),
                {
                    "instance_id": instance_id,
                    "kind": kind,
                    "element": element,
                    "message": text,
                    "status": OPEN,
                    "attempts": 1,
                    "first_seen": now,
                    "last_seen": now,
                    "next_retry_at": retry_at,
                    "closed_at": None,
                    "closed_by": None,
                },
            ).scalar_one()
        )
    else:
        incident_id = int(row.id)
        conn.execute(
            _COUNT_ATTEMPT,
            {
                "inc": incident_id,
                "attempts": attempts,
                "now": now,
                "message": text,
                "element": element,
                "retry_at": retry_at,
            },
        )
    audit.record(
        session,
        at=now,
        actor=actor,
        action="timer.error",
        object_type="instance",
        object_id=instance_id,
        instance_id=instance_id,
        detail={
            **(detail or {}),
            "incident": incident_id,
            "attempt": attempts,
            "element": element,
            "reason": text.splitlines()[0],
            "retry_at": retry_at.isoformat() if retry_at else None,
        },
    )
    return incident_id


def open_among(session: Session, instance_ids: Iterable[int]) -> set[int]:
    """The instances among `instance_ids` that have an open incident."""
    ids = sorted(set(instance_ids))
    if not ids:
        return set()
    return set(session.connection().execute(_OPEN_AMONG, {"ids": ids}).scalars())


def resolve(session: Session, *, instance_id: int, clock: Clock, actor: str) -> int | None:
    """Closes the instance's open incident as resolved (its timers fired); audited; flushes.
    Returns the incident id, None when there was none."""
    return _close(
        session,
        instance_id=instance_id,
        status=RESOLVED,
        clock=clock,
        actor=actor,
        action="incident.resolve",
    )


def close_cancelled(
    session: Session, *, instance_id: int, clock: Clock, actor: str, detail: dict[str, object]
) -> int | None:
    """Closes the instance's open incident as cancelled; audited; flushes."""
    return _close(
        session,
        instance_id=instance_id,
        status=CANCELLED,
        clock=clock,
        actor=actor,
        action="incident.cancel",
        detail=detail,
    )


def _close(
    session: Session,
    *,
    instance_id: int,
    status: str,
    clock: Clock,
    actor: str,
    action: str,
    detail: dict[str, object] | None = None,
) -> int | None:
    conn = session.connection()
    row = conn.execute(_OPEN_OF, {"iid": instance_id}).first()
    if row is None:
        return None
    now = clock.now()
    conn.execute(_CLOSE, {"inc": row.id, "status": status, "now": now, "actor": actor})
    audit.record(
        session,
        at=now,
        actor=actor,
        action=action,
        object_type="incident",
        object_id=row.id,
        instance_id=instance_id,
        detail={
            **(detail or {}),
            "attempts": row.attempts,
            "open_since": row.first_seen.isoformat(),
        },
    )
    return int(row.id)
