"""Statements of the hot paths, compiled once per dialect and run on the driver's cursor.

SQLAlchemy Core works out a statement's cache key on every execution and builds an
execution context around it: 15–40 µs a statement here, more with joins, about as much
as the database's own work on these one-row statements. A completion runs eight of
them. A `Prepared` statement is a Core construct all the same (the same tables, the same
SQL SQLAlchemy would send); only its execution skips the machinery: parameters go
through the column types' own bind processors, result values through their result
processors, in the caller's transaction on the same connection.

Use it for fixed statements that run on every request; anything else stays plain
SQLAlchemy. Parameters are named; `expanding` (IN-list) parameters are not supported —
build one statement per list length instead (see projections).
"""
from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter
from sqlalchemy.sql.selectable import SelectBase

Processor = Callable[[Any], Any]

#: A measurement switch (bench/prepared_ab.py): the groups (defining module's last name, e.g.
#: `instances`, `auth`; `all` for every one) whose statements run through SQLAlchemy's own
#: execution instead, as a plain `conn.execute` call site would.
PLAIN: set[str] = {g.strip() for g in os.environ.get("CADREFLOW_PREPARED_PLAIN", "").split(",") if g.strip()}


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
    if len(set(names)) != len(names) or not all(n.isidentifier() and not n.startswith("_") for n in names):
        raise ValueError(f"result columns need distinct plain names (label them): {names}")
    base: type = NamedTuple("PreparedRow", [(n, Any) for n in names])  # type: ignore[misc]

    class Row(base):  # type: ignore[misc,valid-type]
        __slots__ = ()

        @property
        def _mapping(self) -> dict[str, Any]:
            return self._asdict()  # type: ignore[no-any-return]

    return Row


class Prepared:
    """A fixed Core statement with its per-dialect compilation kept."""

    __slots__ = ("_plans", "group", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._plans: dict[str, _Plan] = {}
        self.group = str(sys._getframe(1).f_globals.get("__name__", "")).rsplit(".", 1)[-1]

    def _plan(self, dialect: Dialect) -> _Plan:
        compiled = self.statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        binds: dict[str, BindParameter[Any]] = compiled.binds
        if any(b.expanding for b in binds.values()):
            raise ValueError("a prepared statement cannot take an expanding (IN-list) parameter")
        fixed = {name: b.effective_value for name, b in binds.items() if not b.required}
        processors = {name: p for name, p in compiled._bind_processors.items() if callable(p)}
        row_type: type | None = None
        result: tuple[tuple[int, Processor], ...] = ()
        if isinstance(self.statement, SelectBase) or bool(getattr(self.statement, "_returning", None)):
            columns = list(self.statement.selected_columns)  # type: ignore[attr-defined]
            row_type = _row_type([c.key for c in columns])
            result = tuple((i, p) for i, c in enumerate(columns)
                           if (p := c.type.dialect_impl(dialect).result_processor(dialect, None)) is not None)
        order = tuple(compiled.positiontup or ()) if dialect.positional else None
        return _Plan(str(compiled), order, fixed, tuple(processors.items()), row_type, result)

    def execute(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Rows:
        """Runs in `conn`'s open transaction (never outside one: on SQLite that would be
        autocommit)."""
        if not conn.in_transaction():
            raise RuntimeError("a prepared statement runs inside the caller's transaction")
        if PLAIN and (self.group in PLAIN or "all" in PLAIN):
            return conn.execute(self.statement, dict(params) if params else {})  # type: ignore[call-overload,no-any-return]
        dialect = conn.dialect
        key = f"{dialect.name}+{dialect.driver}"  # the SQL and its paramstyle are the driver's
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans[key] = self._plan(dialect)
        values = {**plan.fixed, **params} if params else dict(plan.fixed)
        for name, process in plan.bind:
            if name in values:
                values[name] = process(values[name])
        cursor = conn.connection.cursor()
        try:
            if plan.order is None:
                cursor.execute(plan.sql, values)
            else:
                cursor.execute(plan.sql, tuple(values[name] for name in plan.order))
            if plan.row is None:
                return Rows([], cursor.rowcount)
            raw = cursor.fetchall()
            rowcount = cursor.rowcount
        finally:
            cursor.close()
        make = plan.row
        if plan.result:
            rows = []
            for values_ in raw:
                out = list(values_)
                for i, process in plan.result:
                    out[i] = process(out[i])
                rows.append(make(*out))
        else:
            rows = [make(*r) for r in raw]
        return Rows(rows, rowcount)
