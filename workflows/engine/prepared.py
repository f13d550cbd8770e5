"""Statements of the hot paths, compiled once per dialect and run on the driver's cursor.

SQLAlchemy Core works out a statement's cache key on every execution and builds an
execution context around it: 15–40 µs a statement here, more with joins, about as much
as the database's own work on these one-row statements. A completion runs about ten of
them. A `Prepared` statement is a Core construct all the same (the same tables, the same
SQL SQLAlchemy would send); only its execution skips the machinery: parameters go
through the column types' own bind processors, result values through their result
processors, in the caller's transaction on the same connection. docs/performance.md
("Prepared statements") has the figures that keep it.

The fence around it:
- every statement is registered (`REGISTRY`) by name where it is defined: `Prepared(name, statement)`,
  or `Family(name, build)` (the `family` decorator) for statements built per shape — an
  IN-list's length, the rows of a multi-row INSERT, PostgreSQL's combined write;
- tests/engine/test_prepared.py runs each registered statement on SQLite and PostgreSQL and
  compares rows, row count and the tables it wrote with SQLAlchemy's own execution;
- SQLAlchemy is pinned to one minor version (pyproject.toml): what is read here of a compiled
  statement (`bind_names`, `literal_execute_params`, `positiontup`, `effective_returning`,
  the SQL string) is public, but how a statement compiles may change between minors;
- tests/test_layering.py names the modules that may import this one.

Use it for fixed statements that run on every request; anything else stays plain
SQLAlchemy. Parameters are named; `expanding` (IN-list) parameters are not supported —
build one statement per list length instead (a `Family`, see projections). A SELECT returns
rows; INSERT, UPDATE and DELETE return a row count (no RETURNING).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import SelectBase

Processor = Callable[[Any], Any]

#: Every statement and family of statements, by name (`<group>.<statement>`, the group being
#: the defining module's last name).
REGISTRY: dict[str, Prepared | Family] = {}

#: A measurement switch (bench/prepared_ab.py): the groups (`instances`, `auth`, …; `all` for
#: every one) whose statements run through SQLAlchemy's own execution instead, as a plain
#: `conn.execute` call site would. Empty unless CADREFLOW_PREPARED_PLAIN names some.
PLAIN: set[str] = {
    g.strip() for g in os.environ.get("CADREFLOW_PREPARED_PLAIN", "").split(",") if g.strip()
}


def _defining_module() -> str:
    """The module whose code is creating a statement (the first caller outside this one), found
    as `collections.namedtuple` finds its own."""
    frame = sys._getframe(1)
    while frame.f_back is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
    return str(frame.f_globals.get("__name__", ""))


def _register(name: str, item: Prepared | Family) -> str:
    """Registers `item` under `name`; returns the module that defined it."""
    group, dot, rest = name.partition(".")
    if not (group and dot and rest):
        raise ValueError(f"a prepared statement is named <group>.<statement>: {name!r}")
    if name in REGISTRY:
        raise ValueError(f"a prepared statement named {name!r} exists already")
    REGISTRY[name] = item
    return _defining_module()


class Rows:
    """What an execution returned: its rows (tuples with attribute access) and row count."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rows: list[Any], rowcount: int) -> None:
        self._rows = rows
        self.rowcount = rowcount

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any | None:
        return self._rows[0] if self._rows else None

    def all(self) -> list[Any]:
        return self._rows

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None


class _Plan(NamedTuple):
    sql: str
    order: tuple[str, ...] | None  # parameter names in position order; None: named style
    fixed: dict[str, Any]  # values the statement carries itself (literals)
    bind: tuple[tuple[str, Processor], ...]
    row: type | None  # None for a statement without result columns
    result: tuple[tuple[int, Processor], ...]


def _row_type(names: list[str]) -> type:
    if len(set(names)) != len(names) or not all(
        n.isidentifier() and not n.startswith("_") for n in names
    ):
        raise ValueError(f"result columns need distinct plain names (label them): {names}")
    base: type = NamedTuple("PreparedRow", [(n, Any) for n in names])  # type: ignore[misc]

    class Row(base):  # type: ignore[misc,valid-type]
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return self._asdict()  # type: ignore[no-any-return]

    return Row


class Prepared:
    """A fixed Core statement with its per-dialect compilation kept, registered by name."""

    __slots__ = ("_plans", "group", "module", "name", "statement")

    def __init__(self, name: str, statement: ClauseElement) -> None:
        self.module = _register(name, self)
        self._setup(name, statement)

    @classmethod
    def _shape_of(cls, family: Family, statement: ClauseElement) -> Prepared:
        """One shape of a registered family (registered with it, not on its own)."""
        made = cls.__new__(cls)
        made.module = family.module
        made._setup(family.name, statement)
        return made

    def _setup(self, name: str, statement: ClauseElement) -> None:
        self.name = name
        self.group = name.partition(".")[0]
        self.statement = statement
        self._plans: dict[str, _Plan] = {}

    def __repr__(self) -> str:
        return f"Prepared({self.name!r})"

    def _plan(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if compiled.effective_returning:
            raise ValueError(f"{self.name}: a prepared write returns its row count, not rows")
        named = compiled.bind_names  # bind parameter -> its name in the SQL
        if any(b.expanding or b in compiled.literal_execute_params for b in named):
            raise ValueError(
                f"{self.name}: a prepared statement cannot take an expanding (IN-list) parameter"
            )
        fixed = {named[b]: b.effective_value for b in named if not b.required}
        # By name: a name that recurs (in parts of a combined statement) is one value, processed once.
        bind = tuple(
            {
                named[b]: p
                for b in named
                if (p := b.type.dialect_impl(dialect).bind_processor(dialect)) is not None
            }.items()
        )
        row_type: type | None = None
        result: tuple[tuple[int, Processor], ...] = ()
        if isinstance(self.statement, SelectBase):
            columns = list(self.statement.selected_columns)
            row_type = _row_type([c.key or "" for c in columns])
            result = tuple(
                (i, p)
                for i, c in enumerate(columns)
                if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None
            )
        order = tuple(compiled.positiontup or ()) if dialect.positional else None
        return _Plan(str(compiled), order, fixed, bind, row_type, result)

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Rows:
        """Runs in `conn`'s open transaction (never outside one: on SQLite that would be
        autocommit)."""
        if not conn.in_transaction():
            raise RuntimeError("a prepared statement runs inside the caller's transaction")
        if self._plain():
            return conn.execute(
                self.statement,  # type: ignore[call-overload,no-any-return]
                dict(params) if params else {},
            )
        plan = self._plan_for(conn.dialect)
        cursor = conn.connection.cursor()
        try:
            _send(cursor, plan, params)
            return _rows(cursor, plan)
        finally:
            cursor.close()

    def _plain(self) -> bool:
        return bool(PLAIN) and (self.group in PLAIN or "all" in PLAIN)

    def _plan_for(self, dialect: Dialect) -> _Plan:
        key = f"{dialect.name}+{dialect.driver}"  # the SQL and its paramstyle are the driver's
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(dialect)
        return plan


def _send(cursor: Any, plan: _Plan, params: Mapping[str, Any] | None) -> None:
    values = {**plan.fixed, **params} if params else dict(plan.fixed)
    for name, process in plan.bind:
        if name in values:
            values[name] = process(values[name])
    if plan.order is None:
        cursor.execute(plan.sql, values)
    else:
        cursor.execute(plan.sql, tuple(values[name] for name in plan.order))


def _rows(cursor: Any, plan: _Plan) -> Rows:
    if plan.row is None:
        return Rows([], cursor.rowcount)
    raw = cursor.fetchall()
    rowcount = cursor.rowcount
    make = plan.row
    if plan.result:
        rows = []
        for values in raw:
            out = list(values)
            for i, process in plan.result:
                out[i] = process(out[i])
            rows.append(make(*out))
    else:
        rows = [make(*r) for r in raw]
    return Rows(rows, rowcount)


def execute_together(
    conn: Connection, statements: Sequence[tuple[Prepared, Mapping[str, Any] | None]]
) -> list[Rows]:
    """Runs the statements one after the other in `conn`'s open transaction, as `execute`
    would, and returns their results in order. On PostgreSQL (psycopg) they travel in one
    round trip (pipeline mode): the server still runs each after the one before, so a read
    after a row lock sees what the lock waited for; the first error stops the rest and is
    raised. Elsewhere they simply run in turn."""
    if not conn.in_transaction():
        raise RuntimeError("a prepared statement runs inside the caller's transaction")
    pipeline = getattr(conn.connection.driver_connection, "pipeline", None)
    if (
        len(statements) < 2
        or conn.dialect.name != "postgresql"
        or pipeline is None
        or any(statement._plain() for statement, _ in statements)
    ):
        return [statement.execute(conn, params) for statement, params in statements]
    plans = [statement._plan_for(conn.dialect) for statement, _ in statements]
    cursors = [conn.connection.cursor() for _ in statements]
    try:
        with pipeline():
            for cursor, plan, (_, params) in zip(cursors, plans, statements, strict=True):
                _send(cursor, plan, params)
        return [_rows(cursor, plan) for cursor, plan in zip(cursors, plans, strict=True)]
    finally:
        for cursor in cursors:
            cursor.close()


class Family:
    """Statements of one kind built per shape at run time (an IN-list's length, the rows of a
    multi-row INSERT, the parts of a combined statement), registered once by name: calling it
    with a shape gives that shape's `Prepared`, built and compiled once (at most `max_shapes`
    kept; the shapes are hashable, and build the same statement whenever they are equal)."""

    __slots__ = ("_shapes", "build", "max_shapes", "module", "name")

    def __init__(
        self, name: str, build: Callable[..., ClauseElement], *, max_shapes: int = 512
    ) -> None:
        self.module = _register(name, self)
        self.name = name
        self.build = build
        self.max_shapes = max_shapes
        self._shapes: dict[tuple[Hashable, ...], Prepared] = {}

    def __repr__(self) -> str:
        return f"Family({self.name!r})"

    def __call__(self, *shape: Hashable) -> Prepared:
        found = self._shapes.get(shape)
        if found is None:
            if len(self._shapes) >= self.max_shapes:
                self._shapes.clear()
            found = self._shapes[shape] = Prepared._shape_of(self, self.build(*shape))
        return found


def family(name: str, *, max_shapes: int = 512) -> Callable[[Callable[..., ClauseElement]], Family]:
    """Registers the decorated builder as the family `name` (see `Family`)."""

    def register(build: Callable[..., ClauseElement]) -> Family:
        return Family(name, build, max_shapes=max_shapes)

    return register
