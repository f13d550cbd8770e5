"""Snapshots of a test database: a state built once per backend, copied into later tests.

SQLite copies the whole file with SQLite's backup API, into the test's own file through its
engine, so connections already open see the copy. PostgreSQL keeps the rows in a schema of
the run's database (`snapshot_<n>`); restoring is one batch of statements: delete every row
of the public tables, insert the snapshot's rows, set each sequence to the value it had.
Either takes milliseconds, where building a world (users, deployed processes) takes a
few hundred and PostgreSQL's TRUNCATE of every table a few hundred more.
"""

from __future__ import annotations

import itertools
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, MetaData, text
from sqlalchemy.pool import PoolProxiedConnection

from workflows.engine.db import Database

_SKIPPED = frozenset({"alembic_version"})

_names = itertools.count(1)
_files: tempfile.TemporaryDirectory[str] | None = None
_tables: dict[str, tuple[str, ...]] = {}


@dataclass(frozen=True)
class Snapshot:
    """Where a database state is kept, and (PostgreSQL) what restoring it writes."""

    dialect: str
    where: str  # SQLite: a file; PostgreSQL: a schema of the run's database
    tables: tuple[str, ...] = ()  # PostgreSQL: the tables with rows, parents first
    sequences: tuple[tuple[str, int, int | None], ...] = ()  # (name, start, last value)


def tables(db: Database) -> tuple[str, ...]:
    """The database's own tables (as migrated, not as the models say), parents first."""
    if db.dialect not in _tables:
        reflected = MetaData()
        reflected.reflect(bind=db.engine)
        _tables[db.dialect] = tuple(
            t.name for t in reflected.sorted_tables if t.name not in _SKIPPED
        )
    return _tables[db.dialect]


def counts(db: Database) -> tuple[int, ...]:
    """How many rows each table has (in `tables` order): a cheap sign of which state a
    database is in, where the states compared are built by the same code."""
    names = tables(db)
    query = ", ".join(f'(SELECT count(*) FROM "{name}")' for name in names)
    with db.reading() as session:  # a read: on SQLite, no write lock
        return tuple(session.execute(text(f"SELECT {query}")).one())


def take(db: Database) -> Snapshot:
    """Keeps the database's committed state for `restore`."""
    if db.dialect == "sqlite":
        return Snapshot("sqlite", _sqlite_take(db))
    return _postgresql_take(db)


def restore(db: Database, snapshot: Snapshot) -> None:
    """Makes the database exactly what it was when `snapshot` was taken: rows, sequences
    and (SQLite) the file's own counters."""
    if snapshot.dialect == "sqlite":
        _sqlite_restore(db, snapshot)
    else:
        _postgresql_restore(db, snapshot)


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_take(db: Database) -> str:
    global _files
    if _files is None:
        _files = tempfile.TemporaryDirectory(prefix="cadreflow-snapshots-")
    path = Path(_files.name) / f"snapshot_{next(_names)}.db"
    kept = sqlite3.connect(path)
    raw = db.engine.raw_connection()
    try:
        _sqlite_of(raw).backup(kept)
    finally:
        raw.close()
        kept.close()
    return str(path)


def _sqlite_restore(db: Database, snapshot: Snapshot) -> None:
    kept = sqlite3.connect(f"file:{snapshot.where}?mode=ro", uri=True)
    raw = db.engine.raw_connection()
    try:
        kept.backup(_sqlite_of(raw))
    finally:
        raw.close()
        kept.close()


def _sqlite_of(raw: PoolProxiedConnection) -> sqlite3.Connection:
    driver = raw.driver_connection
    assert isinstance(driver, sqlite3.Connection)
    return driver


# -- PostgreSQL ------------------------------------------------------------------------------


def _postgresql_take(db: Database) -> Snapshot:
    schema = f"snapshot_{next(_names)}"
    names = tables(db)
    with db.engine.begin() as conn:
        has_rows = (
            conn.execute(
                text(
                    " UNION ALL ".join(
                        f"SELECT '{name}' WHERE EXISTS (SELECT 1 FROM {_public(name)})"
                        for name in names
                    )
                )
            )
            .scalars()
            .all()
        )
        kept = tuple(name for name in names if name in set(has_rows))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        for name in kept:
            conn.execute(text(f'CREATE TABLE "{schema}"."{name}" AS TABLE {_public(name)}'))
        sequences = conn.execute(
            text(
                "SELECT format('%I.%I', schemaname, sequencename), start_value, last_value"
                " FROM pg_sequences WHERE schemaname = 'public' ORDER BY sequencename"
            )
        ).all()
    return Snapshot("postgresql", schema, kept, tuple((n, s, v) for n, s, v in sequences))


def _postgresql_restore(db: Database, snapshot: Snapshot) -> None:
    names = tables(db)
    with db.engine.begin() as conn:
        if _may_skip_triggers(conn):
            # Without triggers: the append-only tables refuse DELETE by trigger, and the
            # foreign keys need no checking for rows that were consistent when kept.
            emptying = [
                "SET LOCAL session_replication_role = replica",
                *(f"DELETE FROM {_public(name)}" for name in reversed(names)),
            ]
        else:
            emptying = [f"TRUNCATE {', '.join(_public(name) for name in names)} RESTART IDENTITY"]
        filling = [
            f'INSERT INTO {_public(name)} SELECT * FROM "{snapshot.where}"."{name}"'
            for name in snapshot.tables
        ]
        numbering = ", ".join(
            f"setval('{name}', {start}, false)" if last is None else f"setval('{name}', {last})"
            for name, start, last in snapshot.sequences
        )
        statements = [*emptying, *filling, *([f"SELECT {numbering}"] if numbering else [])]
        conn.exec_driver_sql("; ".join(statements))


def _may_skip_triggers(conn: Connection) -> bool:
    """Only a superuser may (the default test role, postgres, is one)."""
    return conn.exec_driver_sql("SHOW is_superuser").scalar_one() == "on"


def _public(name: str) -> str:
    return f'public."{name}"'
