"""States built once per backend and copied into later tests, and checkpoints within a test.

A scenario that many tests share (a world, cases through several steps, logged-in users)
costs far more to build than to copy: `kept` builds it in the first test that asks, keeps a
snapshot of the database (tests/support/snapshots.py) with what the builder returned, and
gives later tests a copy of both. `Checkpoint` is the same within one test: take it once,
restore it before each step that must start from that state again. Ids are the same after a
restore (snapshots keep the sequences), so what the builder returned stays true.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from tests.support import snapshots
from workflows.engine import settings
from workflows.runtime import Runtime

T = TypeVar("T")


@dataclass(frozen=True)
class Checkpoint:
    """A database state and the moment the clock showed when it was taken."""

    snapshot: snapshots.Snapshot
    moment: datetime

    @classmethod
    def take(cls, rt: Runtime) -> Checkpoint:
        """Keeps the committed state of `rt`'s database, and the clock's moment."""
        return cls(snapshots.take(rt.db), rt.clock.now())

    def restore(self, rt: Runtime) -> None:
        """Makes the database what it was when taken, the clock back at that moment."""
        snapshots.restore(rt.db, self.snapshot)
        with rt.db.transaction() as session:
            settings.move_clock(session, rt.clock, to=self.moment)


@dataclass(frozen=True)
class _Kept:
    checkpoint: Checkpoint
    value: Any


#: (backend, key) → what the first test that asked built.
_KEPT: dict[tuple[str, Hashable], _Kept] = {}


def backend(rt: Runtime) -> str:
    """Which database a snapshot belongs to: PostgreSQL's live in the run's (each xdist
    worker has its own), SQLite's are files any test's database can be copied from."""
    return rt.db.url if rt.db.dialect == "postgresql" else rt.db.dialect


def kept(rt: Runtime, key: Hashable, build: Callable[[], T]) -> T:
    """What `build` returns, with the database as `build` leaves it.

    `build` runs on an empty database (as migrated) and must leave the same state each time
    it does: `key` names that state, for every test that passes it. The first test per
    backend builds and keeps it; later ones get the rows restored, the clock moved to where
    building left it, and a deep copy of the value (so a test may change its copy). On a
    database that is not empty `build` just runs, and nothing is kept."""
    if not snapshots.is_empty(rt.db):
        return build()
    found = _KEPT.get((backend(rt), key))
    if found is not None:
        found.checkpoint.restore(rt)
        return copy.deepcopy(found.value)
    value = build()
    _KEPT[(backend(rt), key)] = _Kept(Checkpoint.take(rt), copy.deepcopy(value))
    return value
