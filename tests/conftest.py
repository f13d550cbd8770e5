"""Fixtures over real databases: a SQLite file per test and a PostgreSQL database per run.

Every database-backed test runs on both; ids end in [sqlite] or [postgresql]. Each test
starts from the migrated state: SQLite copies a migrated file, PostgreSQL restores a
snapshot of its run's database as migrated (tests/support/snapshots.py). With CI=true an
unreachable PostgreSQL fails the run instead of skipping, and a run in which no
PostgreSQL test passed fails too.
"""

from __future__ import annotations

import gc
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.support import HASHER, snapshots
from workflows import migrate
from workflows.config import Settings
from workflows.engine.db import Database
from workflows.runtime import Runtime

DATA = Path(__file__).parent / "data"
FORMS = DATA / "forms"
PG_ADMIN_URL = os.environ.get("CADREFLOW_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
BACKENDS = ["sqlite", "postgresql"]

_postgresql = {"run": 0, "passed": 0}


def _pg_reachable() -> str | None:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except psycopg.Error as err:
        return str(err).strip().splitlines()[0]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    problem = _pg_reachable()
    if problem:
        if IN_CI:
            pytest.fail(
                f"PostgreSQL is required in CI and is not reachable: {problem}", pytrace=False
            )
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    name = f"cadreflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    url = f"{base.replace('postgresql://', 'postgresql+psycopg://', 1)}/{name}"
    migrate.upgrade(url)
    yield url
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pg_migrated(pg_url: str) -> snapshots.Snapshot:
    """The run's database as migrated, restored before each test (a TRUNCATE of every
    table costs about as much as building a world)."""
    db = Database(pg_url)
    try:
        return snapshots.take(db)
    finally:
        db.dispose()


@pytest.fixture(scope="session")
def pg_database(pg_url: str) -> Iterator[Database]:
    """The run's PostgreSQL database with one engine for every test: its pool keeps the
    connections open from test to test (a new engine per test opened a new server process
    for each, about 10 ms)."""
    db = Database(pg_url)
    yield db
    db.dispose()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on the parametrized backend."""
    if request.param == "sqlite":
        path = tmp_path / "cadreflow.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        db = Database(f"sqlite:///{path}")
        yield db
        db.dispose()
    else:
        db = request.getfixturevalue("pg_database")
        snapshots.restore(db, request.getfixturevalue("pg_migrated"))
        yield db


@pytest.fixture
def rt(database: Database) -> Runtime:
    """A runtime on the test database: adjustable clock, test forms."""
    return Runtime(
        Settings(
            database_url=database.url,
            clock_adjustable=True,
            forms_dir=FORMS,
            timezone="Asia/Shanghai",
            scheduler_interval=0.2,
            max_definition_bytes=200_000,
        ),
        db=database,
        hasher=HASHER,
    )


def at(text_: str) -> datetime:
    """A local (Asia/Shanghai) moment, for readable tests."""
    from zoneinfo import ZoneInfo

    moment = datetime.fromisoformat(text_)
    return moment.replace(tzinfo=ZoneInfo("Asia/Shanghai")) if moment.tzinfo is None else moment


def set_clock(rt: Runtime, moment: str) -> None:
    from workflows.engine import settings

    with rt.db.transaction() as session:
        settings.move_clock(session, rt.clock, to=at(moment))


def advance_clock(rt: Runtime, **delta: Any) -> None:
    from workflows.engine import settings

    with rt.db.transaction() as session:
        settings.move_clock(session, rt.clock, by=timedelta(**delta))


def pytest_collection_finish(session: pytest.Session) -> None:
    """What collection imported lives as long as the run: it is left out of the cyclic
    collector's passes (as server.settle_heap does for a serving process), and young objects
    are collected less often. Otherwise a tenth of the run is full passes over a heap that
    only grows."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 10)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Counts the PostgreSQL tests run and passed (with `-n`, the reports of every worker)."""
    if "[postgresql" in report.nodeid:
        _postgresql["run"] += report.when == "setup"
        _postgresql["passed"] += report.when == "call" and report.passed


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if hasattr(session.config, "workerinput"):
        return  # a worker of `-n`: the run is judged where every report arrives
    if IN_CI and _postgresql["run"] and _postgresql["passed"] == 0 and exitstatus == 0:
        session.config.get_terminal_writer().line(
            "CI requires the PostgreSQL tests to run: none passed", red=True
        )
        session.exitstatus = 1
