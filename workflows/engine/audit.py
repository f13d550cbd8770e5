"""The append-only audit trail (DOMAIN.md §5): a hash chain over every row.

Writers lock the single `audit_head` row, so rows are appended in one order even
with several processes; the head is locked last in a transaction, after the
instance, which keeps lock order consistent and free of deadlocks.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    Text,
    bindparam,
    cast,
    event,
    exists,
    func,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session

from workflows.engine import hooks
from workflows.engine.models import (
    AuditEvent,
    AuditHead,
    HumanTask,
    Instance,
    UTCDateTime,
    table_of,
)
from workflows.engine.prepared import Prepared
from workflows.errors import AuditNotWritten
from workflows.messages import t

GENESIS = "0" * 64
_HEAD = table_of(AuditHead)
_EVENTS = table_of(AuditEvent)
_READ_HEAD = select(_HEAD.c.last_id, _HEAD.c.last_hash).where(_HEAD.c.id == 1)
_INSERT_EVENT = insert(_EVENTS)
# PostgreSQL chains a row in one round trip: the database applies the link step of
# `_digest` (sha256 over previous hash, id and the body digest computed here).
_APPEND_PG = Prepared(
    "audit.append_pg",
    text(
        "WITH old AS (SELECT last_id, last_hash FROM audit_head WHERE id = 1 FOR UPDATE),"
        " head AS (UPDATE audit_head SET last_id = old.last_id + 1,"
        "   last_hash = encode(sha256(convert_to(old.last_hash || (old.last_id + 1)::text || :body,"
        "   'UTF8')), 'hex')"
        "   FROM old WHERE audit_head.id = 1"
        "   RETURNING audit_head.last_id, audit_head.last_hash, old.last_hash AS prev_hash)"
        " INSERT INTO audit_event (id, at, actor, action, object_type, object_id, instance_id, detail,"
        " prev_hash, hash) SELECT head.last_id, :at, :actor, :action, :object_type, :object_id,"
        " :instance_id, :detail, head.prev_hash, head.last_hash FROM head"
    ).bindparams(bindparam("at", type_=UTCDateTime())),
)

# SQLite, one row: the same link step by a function db.py registers; a trigger moves the head.
_APPEND_SQLITE = Prepared(
    "audit.append_sqlite",
    text(
        "INSERT INTO audit_event (id, at, actor, action, object_type, object_id, instance_id, detail,"
        " prev_hash, hash) SELECT last_id + 1, :at, :actor, :action, :object_type, :object_id,"
        " :instance_id, :detail, last_hash, cadreflow_sha256(last_hash || (last_id + 1) || :body)"
        " FROM audit_head WHERE id = 1"
    ).bindparams(bindparam("at", type_=UTCDateTime())),
)

# The head row is joined on its id alone. Under READ COMMITTED the statement's snapshot may
# predate a concurrent append that `audit_old`'s FOR UPDATE waited for: the UPDATE then
# meets the newer row version and re-checks its condition on it. A condition on the old
# `last_id` would compare the stale version and match nothing — the audit row silently
# not written while the rest of the statement commits. `AUDIT_WRITTEN` guards against any
# such gap: the statement's own update requires the appended row to exist.
_OLD_HEAD = (
    select(_HEAD.c.last_id, _HEAD.c.last_hash)
    .where(_HEAD.c.id == 1)
    .with_for_update()
    .cte("audit_old")
)


def chain_ctes(*head_conditions: Any) -> tuple[Any, Any, Any]:
    """PostgreSQL: the CTEs that lock the head, move it where `head_conditions` hold (the
    head row's id is always one) and append one row chained to it."""
    moved = (
        update(_HEAD)
        .where(_HEAD.c.id == 1, *head_conditions)
        .values(
            last_id=_OLD_HEAD.c.last_id + 1,
            last_hash=func.encode(
                func.sha256(
                    func.convert_to(
                        _OLD_HEAD.c.last_hash
                        + cast(_OLD_HEAD.c.last_id + 1, String)
                        + bindparam("audit_body", type_=String()),
                        literal("UTF8"),
                    )
                ),
                literal("hex"),
            ),
        )
        .returning(_HEAD.c.last_id, _HEAD.c.last_hash, _OLD_HEAD.c.last_hash.label("prev_hash"))
        .cte("audit_moved")
    )
    added = (
        insert(_EVENTS)
        .from_select(
            [
                "id",
                "at",
                "actor",
                "action",
                "object_type",
                "object_id",
                "instance_id",
                "detail",
                "prev_hash",
                "hash",
            ],
            select(
                moved.c.last_id,
                bindparam("audit_at", type_=UTCDateTime()),
                bindparam("audit_actor", type_=String()),
                bindparam("audit_action", type_=String()),
                bindparam("audit_object_type", type_=String()),
                bindparam("audit_object_id", type_=String()),
                bindparam("audit_instance_id", type_=Integer()),
                bindparam("audit_detail", type_=Text()),
                moved.c.prev_hash,
                moved.c.last_hash,
            ),
        )
        .returning(_EVENTS.c.id)
        .cte("audit_added")
    )
    return _OLD_HEAD, moved, added


_CHAIN = chain_ctes()
#: A condition for the statement that carries `appending_ctes`: true only once its audit row
#: was appended, so the statement changes nothing when the row is missing.
AUDIT_WRITTEN = exists(select(_CHAIN[2].c.id))

#: The content a row's hash covers, besides its id and the previous row's hash.
_BODY = ("at", "actor", "action", "object_type", "object_id", "instance_id", "detail")
_FIELDS = ("id", "prev_hash", *_BODY)


def _body_digest(values: dict[str, Any]) -> str:
    parts = [values[name] for name in _BODY]
    parts[0] = parts[0].isoformat()
    payload = json.dumps(parts, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _link(prev_hash: str, row_id: int, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}{row_id}{body}".encode()).hexdigest()


def _digest(values: dict[str, Any]) -> str:
    """A row's hash: sha256(previous hash ‖ id ‖ sha256(canonical JSON of its content))."""
    return _link(values["prev_hash"], values["id"], _body_digest(values))


_PENDING = "cadreflow.audit.pending"


def record(
    session: Session,
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    instance_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Queues one row; it is chained and written when the transaction commits.

    Appending at commit takes the chain's head lock last, after every instance lock a
    transaction holds, and only for the instant of the commit."""
    queue(
        session,
        entry(
            at=at,
            actor=actor,
            action=action,
            object_type=object_type,
            object_id=object_id,
            instance_id=instance_id,
            detail=detail,
        ),
    )


def queue(session: Session, row: dict[str, Any]) -> None:
    """Queues a row made by `entry`, to be chained and written at commit."""
    session.info.setdefault(_PENDING, []).append(row)


#: Who is behind the current request (role, org unit, IP): set by the HTTP layer for the
#: request's duration and written into every row's detail as "by", with "result".
_REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("cadreflow_audit_request", default=None)


@contextmanager
def acting(**who: Any) -> Iterator[None]:
    """Rows recorded inside the block carry `who` (role, org_unit, ip) in their detail."""
    token = _REQUEST.set({key: value for key, value in who.items() if value is not None})
    try:
        yield
    finally:
        _REQUEST.reset(token)


def entry(
    *,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | int,
    instance_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The content of one audit row, before it is chained."""
    who = _REQUEST.get()
    if who is not None:
        detail = {"result": "ok", **(detail or {}), "by": who}
    return {
        "at": at.astimezone(UTC),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": str(object_id),
        "instance_id": instance_id,
        "detail": json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str),
    }


def appending_ctes(values: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """PostgreSQL: CTEs that chain and append one row inside another statement, so a step's
    state, projections and audit row travel in one round trip. They take the head lock
    where the statement runs: callers use this for a transaction's last write."""
    params = {f"audit_{key}": value for key, value in values.items()}
    params["audit_body"] = _body_digest(values)
    return list(_CHAIN), params


def mark(session: Session) -> int:
    """A point to go back to when a savepoint is rolled back (see `discard_since`)."""
    return len(session.info.get(_PENDING, []))


def queued_since(session: Session, point: int) -> list[dict[str, Any]]:
    """The rows queued after `mark` returned `point`, not yet written."""
    return list(session.info.get(_PENDING, [])[point:])


def discard_since(session: Session, point: int) -> None:
    del session.info.get(_PENDING, [])[point:]


def not_written(action: str) -> str:
    """The refusal of a change whose audit row (of `action`) could not be appended."""
    return t("审计记录未能写入，本次操作未保存，请重试（%(action)s）", action=action)


def _append(session: Session, rows: list[dict[str, Any]]) -> None:
    """Chains and writes `rows`; raises (so the commit fails) when any row is not written."""
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        for values in rows:
            if _APPEND_PG.execute(conn, {**values, "body": _body_digest(values)}).rowcount != 1:
                raise AuditNotWritten(not_written(values["action"]))
        return
    # SQLite: BEGIN IMMEDIATE already holds the database; a trigger moves the head.
    if len(rows) == 1:
        if _APPEND_SQLITE.execute(conn, {**rows[0], "body": _body_digest(rows[0])}).rowcount != 1:
            raise AuditNotWritten(not_written(rows[0]["action"]))
        return
    head = conn.execute(_READ_HEAD).one()
    prev_hash, next_id = head.last_hash, head.last_id + 1
    for values in rows:
        values["id"], values["prev_hash"] = next_id, prev_hash
        values["hash"] = prev_hash = _digest(values)
        next_id += 1
    conn.execute(_INSERT_EVENT, rows)


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    rows = session.info.pop(_PENDING, None)
    if rows:
        _append(session, rows)


@event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Verification:
    """The outcome of `verify`. `broken_at` names a row of the chain; a completeness gap (a
    change with no row at all) has no row to name and says what is missing in `reason`."""

    ok: bool
    checked: int
    broken_at: int | None = None
    reason: str = ""


#: The key `instances.advance` writes into each state change's detail: the instance version
#: the change produced (2 for the start, then one more per step), so the rows of an
#: instance must number 2…version without a gap.
SEQUENCE = "seq"


@dataclass
class _Seen:
    """What the walk collected for the completeness checks."""

    sequences: dict[int, set[int]]
    objects: dict[str, set[str]]  # action → object ids that have a row of it
    numbered_since: datetime | None = None

    def add(self, row: AuditEvent) -> None:
        if row.action in self.objects:
            self.objects[row.action].add(row.object_id)
        if row.instance_id is not None and f'"{SEQUENCE}":' in row.detail:
            seq = json.loads(row.detail).get(SEQUENCE)
            if isinstance(seq, int):
                self.sequences.setdefault(row.instance_id, set()).add(seq)
                if self.numbered_since is None:
                    self.numbered_since = row.at


def verify(session: Session, *, batch: int = 5000) -> Verification:
    """Walks the chain in order and reports the first row whose link or hash is wrong; then
    checks that no change is missing its row: every instance's state changes numbered
    without a gap, every completed task its `task.complete`, every case its `case.open`."""
    prev_hash, expected_id, checked = GENESIS, 1, 0
    last_id = 0
    records = [_COMPLETED_TASKS, *hooks.REGISTRY.audited_records]
    seen = _Seen({}, {record.action: set() for record in records})
    while True:
        rows = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
                .limit(batch)
            )
            .scalars()
            .all()
        )
        if not rows:
            break
        for row in rows:
            if row.id != expected_id:
                return Verification(False, checked, expected_id, f"row {expected_id} is missing")
            if row.prev_hash != prev_hash:
                return Verification(False, checked, row.id, "link to the previous row is broken")
            if _digest({name: getattr(row, name) for name in _FIELDS}) != row.hash:
                return Verification(False, checked, row.id, "row content does not match its hash")
            seen.add(row)
            prev_hash, expected_id, checked = row.hash, expected_id + 1, checked + 1
            last_id = row.id
        session.expunge_all()
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != checked or head.last_hash != prev_hash):
        return Verification(False, checked, checked + 1, "rows after the last one were removed")
    gap = _first_gap(session, seen, records)
    return Verification(gap is None, checked, None, gap or "")


_COMPLETED_TASKS = hooks.AuditedRecord(
    "task.complete",
    select(HumanTask.id, HumanTask.task_spec, HumanTask.instance_id)
    .where(HumanTask.state == "completed")
    .order_by(HumanTask.id),
    lambda row: f"任务 {row.id}（{row.task_spec}，实例 {row.instance_id}）已办结",
)
_INSTANCE_VERSIONS = select(Instance.id, Instance.version, Instance.started_at).order_by(
    Instance.id
)


def _first_gap(session: Session, seen: _Seen, records: list[hooks.AuditedRecord]) -> str | None:
    """What the first change without its audit row is, in words; None when there is none."""
    for record in records:
        have = seen.objects[record.action]
        for row in session.execute(record.query):
            if str(row[0]) not in have:
                return f"{record.describe(row)}，但缺少其 {record.action} 审计记录"
    if seen.numbered_since is None:
        return None  # a trail from before state changes were numbered: nothing to compare
    for instance_id, version, started_at in session.execute(_INSTANCE_VERSIONS):
        numbered = seen.sequences.get(instance_id, set())
        # Instances from before numbering began are checked from their first numbered row.
        first = 2 if started_at >= seen.numbered_since else min(numbered, default=version + 1)
        missing = sorted(set(range(first, version + 1)) - numbered)
        if missing:
            return (
                f"实例 {instance_id} 的第 {missing[0]} 次状态变更（版本 {missing[0]}）缺少审计记录"
                f"（实例当前版本 {version}，共缺 {len(missing)} 条）"
            )
    return None
