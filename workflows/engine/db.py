"""Database access: engines, sessions and the one `transaction()` callers own.

SQLite runs in WAL mode and every write transaction starts with BEGIN IMMEDIATE, so
the database-wide write lock is taken up front (no lock upgrade deadlocks); readers
use plain BEGIN. PostgreSQL uses row locks (see `lock_instance`).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import create_engine, event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

_READONLY = "cadreflow_readonly"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()
            # PostgreSQL has sha256(); the audit chain is linked in SQL on both (audit.py).
            dbapi_conn.create_function("cadreflow_sha256", 1, _sha256_hex, deterministic=True)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            readonly = conn.get_execution_options().get(_READONLY, False)
            # Straight to the driver: it runs for every transaction (see prepared.py).
            conn.connection.driver_connection.execute("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def _sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


#: SQLite's primary result codes for a file that cannot be used at the moment: BUSY and LOCKED
#: (past the busy timeout), NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB.
#: The others (a syntax error, no such table, a constraint) are mistakes in a statement.
_SQLITE_UNAVAILABLE = frozenset({5, 6, 7, 8, 10, 11, 13, 14, 15, 26})


def unavailable(err: BaseException) -> bool:
    """Whether a database error means the database cannot be reached or used right now (an
    outage: a refused or lost connection, a dropped database, a file that cannot be opened or
    read, or stays locked, no pooled connection free) rather than a mistake in a statement.
    Takes SQLAlchemy's errors and the drivers' own (prepared.py runs on the driver's cursor)."""
    if isinstance(err, sa_exc.TimeoutError):
        return True
    driver: BaseException | None = err
    if isinstance(err, sa_exc.DBAPIError):
        if err.connection_invalidated:
            return True
        driver = err.orig
    if isinstance(driver, sqlite3.Error):
        code = getattr(driver, "sqlite_errorcode", None)
        return code is not None and code & 0xFF in _SQLITE_UNAVAILABLE
    # PostgreSQL: connection failures, shutdowns, resource exhaustion, timeouts.
    return isinstance(driver, psycopg.OperationalError | psycopg.InterfaceError)


#: What a database failure is raised as: SQLAlchemy's errors, and the drivers' own (prepared
#: statements run on the driver's cursor).
ERRORS: tuple[type[Exception], ...] = (
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    sqlite3.Error,
    psycopg.Error,
)


class Database:
    """An engine and its session factories; one per process (and per test)."""

    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL reads in autocommit: at READ COMMITTED every statement takes its own
        # snapshot inside a transaction too, so BEGIN and ROLLBACK would be two round trips
        # that change nothing a reader sees.
        reads: dict[str, Any] = {} if is_sqlite(self.engine) else {"isolation_level": "AUTOCOMMIT"}
        self._read = sessionmaker(
            self.engine.execution_options(**{_READONLY: True}, **reads), expire_on_commit=False
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction: commits when the block ends, rolls back on any error."""
        with self._write() as session, session.begin():
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A read-only transaction (never takes SQLite's write lock)."""
        with self._read() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
