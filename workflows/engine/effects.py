"""What a completed step wrote beside the engine, kept so that going back can undo it.

A user task's completion runs domain actions that add records (a decision, an analysis,
a rectification requirement) and change others (a case's status, its date of service).
`Recorder` watches the session while a completion runs and keeps, per step, the rows of
the domain's declared tables it added, the values it changed (with the values before) and
the other instances it moved (a message to another case): `step_effect` rows written in
the completion's own transaction. 退回 and 撤回 (`workflows.tasks.going_back`) read them:
added records are superseded, changed values restored, and a step that moved another
instance is a point of no return.

Only tables the domain declares (`hooks.REGISTRY.recorded_tables`) are kept, so a
notification or a draft never counts as a record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Self

from sqlalchemy import ColumnElement, event, insert, inspect, select, update
from sqlalchemy.orm import Session

from workflows.engine import audit
from workflows.engine.models import Base, RecordSupersession, StepEffect, table_of

INSERT, UPDATE, INFORMED = "insert", "update", "informed"
_EFFECTS = table_of(StepEffect)


@dataclass(frozen=True)
class Effect:
    task_id: int
    change: str
    record_table: str | None
    record_id: int | None
    before: dict[str, Any]
    other_instance_id: int | None


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"$datetime": value.isoformat()}
    if isinstance(value, date):
        return {"$date": value.isoformat()}
    return value


def _typed(value: Any) -> Any:
    if isinstance(value, dict) and "$datetime" in value:
        return datetime.fromisoformat(value["$datetime"])
    if isinstance(value, dict) and "$date" in value:
        return date.fromisoformat(value["$date"])
    return value


#: The recorders watching a session (a completion may run inside another's), in its info.
_RECORDERS = "cadreflow_effect_recorders"


@event.listens_for(Session, "before_flush")
def _before_flush(session: Session, *_args: Any) -> None:
    """One listener for every session, handing flushes to the recorders watching it:
    listening on each session and removing the listener again cost every completion about
    as much as validating its form."""
    for recorder in session.info.get(_RECORDERS, ()):
        recorder._collect(session)


class Recorder:
    """Collects the effects of one completion on `session` (use as a context manager,
    then `write`)."""

    def __init__(self, session: Session, *, instance_id: int, tables: Iterable[str]) -> None:
        self._session = session
        self._instance_id = instance_id
        self._tables = frozenset(tables)
        self._added: dict[int, Any] = {}
        self._before: dict[tuple[str, int], dict[str, Any]] = {}
        self._mark = 0

    def __enter__(self) -> Self:
        self._mark = audit.mark(self._session)
        self._session.info.setdefault(_RECORDERS, []).append(self)
        return self

    def __exit__(self, *_exc: object) -> None:
        self._collect(self._session)
        self._session.info[_RECORDERS].remove(self)

    def _collect(self, session: Session, *_args: Any) -> None:
        for obj in session.new:
            if obj.__table__.name in self._tables:
                self._added[id(obj)] = obj
        for obj in session.dirty:
            table = obj.__table__.name
            if table not in self._tables or id(obj) in self._added:
                continue
            state = inspect(obj)
            key = (table, state.identity[0])
            for attr in state.mapper.column_attrs:
                history = state.attrs[attr.key].history
                if history.deleted:
                    self._before.setdefault(key, {}).setdefault(
                        attr.key, _plain(history.deleted[0])
                    )

    def write(self, *, task_id: int) -> int:
        """Writes the step's effects (flushing the session first); returns how many."""
        informed = self._informed()
        if not (self._added or self._before or informed):
            return 0
        self._session.flush()
        rows = [
            _row(task_id, INSERT, obj.__table__.name, inspect(obj).identity[0], None, None)
            for obj in self._added.values()
        ]
        rows += [
            _row(task_id, UPDATE, table, record_id, json.dumps(before, ensure_ascii=False), None)
            for (table, record_id), before in self._before.items()
        ]
        rows += [_row(task_id, INFORMED, None, None, None, other) for other in informed]
        for row in rows:
            row["instance_id"] = self._instance_id
        if rows:
            self._session.connection().execute(insert(_EFFECTS), rows)
        return len(rows)

    def _informed(self) -> list[int]:
        others = {
            row.get("instance_id")
            for row in audit.queued_since(self._session, self._mark)
            if row.get("instance_id") not in (None, self._instance_id)
        }
        return sorted(int(other) for other in others if other is not None)


def _row(
    task_id: int,
    change: str,
    table: str | None,
    record_id: int | None,
    before: str | None,
    other: int | None,
) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "change": change,
        "record_table": table,
        "record_id": record_id,
        "before": before,
        "other_instance_id": other,
    }


def of_steps(session: Session, task_ids: Iterable[int]) -> list[Effect]:
    """The effects of these completed steps, latest first (the order to undo them in)."""
    ids = sorted(set(task_ids))
    if not ids:
        return []
    rows = session.execute(
        select(_EFFECTS).where(_EFFECTS.c.task_id.in_(ids)).order_by(_EFFECTS.c.id.desc())
    ).all()
    return [
        Effect(
            task_id=row.task_id,
            change=row.change,
            record_table=row.record_table,
            record_id=row.record_id,
            before=json.loads(row.before) if row.before else {},
            other_instance_id=row.other_instance_id,
        )
        for row in rows
    ]


def restore(session: Session, effect: Effect) -> None:
    """Puts back the values an `update` effect changed (flushing pending ORM changes first,
    and expiring the row's ORM copy so that later reads see the values restored)."""
    assert effect.change == UPDATE and effect.record_table and effect.record_id is not None
    table = Base.metadata.tables[effect.record_table]
    session.flush()
    (key,) = table.primary_key.columns
    session.execute(
        update(table)
        .where(key == effect.record_id)
        .values({column: _typed(value) for column, value in effect.before.items()})
    )
    for obj in list(session.identity_map.values()):
        state = inspect(obj)
        if state.mapper.local_table is table and state.identity == (effect.record_id,):
            session.expire(obj)


def in_force(model: Any) -> ColumnElement[bool]:
    """A WHERE clause: the rows of a record `model` no going back superseded."""
    return model.id.not_in(
        select(RecordSupersession.record_id).where(
            RecordSupersession.record_table == model.__tablename__
        )
    )
