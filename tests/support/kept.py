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


#: (backend, key, rows per table before building) → what the first test that asked built.
_KEPT: dict[tuple[str, Hashable, tuple[int, ...]], _Kept] = {}


def backend(rt: Runtime) -> str:
    """Which database a snapshot belongs to: PostgreSQL's live in the run's (each xdist
    worker has its own), SQLite's are files any test's database can be copied from."""
    return rt.db.url if rt.db.dialect == "postgresql" else rt.db.dialect


def kept(rt: Runtime, key: Hashable, build: Callable[[], T]) -> T:
    """What `build` returns, with the database as `build` leaves it.

    `key` names what `build` makes; it must make the same each time it starts from the same
    state: an empty database, or one that is itself kept (a fixture's `make_world`, then a
    module's scenario on it). The first test per backend and starting state builds and
    keeps it; later ones get the rows restored, the clock moved to where building left it,
    and a deep copy of the value (a test may change its copy). The starting state is told
    apart by its rows per table: ask in fixtures, before a test writes anything of its own."""
    start = snapshots.counts(rt.db)
    where = (backend(rt), key, start)
    found = _KEPT.get(where)
    if found is not None:
        found.checkpoint.restore(rt)
        return copy.deepcopy(found.value)
    value = build()
    _KEPT[where] = _Kept(Checkpoint.take(rt), copy.deepcopy(value))
    return value
