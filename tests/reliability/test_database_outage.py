"""A database that cannot be reached or used answers 503 with Retry-After — a problem body for
the API, a page for people — and one log line per request, no traceback. Real outages, no
mocks: a PostgreSQL port where nothing listens, a database dropped under a running app, a
SQLite path that cannot be opened, a SQLite file overwritten with garbage; a file locked by
another connection is an outage too. A mistake in a statement stays a 500 with its traceback."""

from __future__ import annotations

import logging
import re
import socket
import sqlite3
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from sqlalchemy import create_engine, text
from werkzeug.test import TestResponse

from server import create_app, errors
from tests.conftest import PG_ADMIN_URL, _pg_reachable
from tests.support import HASHER
from workflows import migrate
from workflows.config import Settings
from workflows.engine import db
from workflows.engine.clock import Clock
from workflows.org import service as org
from workflows.runtime import Runtime

_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def _app(url: str) -> Flask:
    """A served app (exceptions answered, not raised) on `url`."""
    return create_app(Runtime(Settings(database_url=url)))


def _requests(app: Flask) -> Iterator[tuple[str, TestResponse]]:
    """The API and the pages, read and write, logged in or not: each needs the database."""
    api = app.test_client()
    yield "api read", api.get("/api/v1/cases", headers={"Authorization": "Bearer some-token"})
    yield (
        "api login",
        api.post("/api/v1/auth/login", json={"username": "clerk", "password": "demo-pass-1"}),
    )
    yield (
        "api refused",
        api.post("/api/v1/auth/login", json={"username": "clerk"}),
    )  # its refusal is audited
    yield "health", api.get("/healthz")
    page = app.test_client()
    token = _TOKEN.search(
        page.get("/login").get_data(as_text=True)
    )  # the form needs nothing stored
    assert token is not None
    yield (
        "page login",
        page.post(
            "/login",
            data={"username": "clerk", "password": "demo-pass-1", "csrf_token": token.group(1)},
        ),
    )
    page.set_cookie("cadreflow_session", "some-session")
    yield "page", page.get("/tasks")


def _assert_unavailable(app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    with caplog.at_level(logging.INFO):
        answers = list(_requests(app))
    for label, response in answers:
        assert response.status_code == 503, (
            label,
            response.status_code,
            response.get_data(as_text=True)[:300],
        )
        assert response.headers["Retry-After"] == str(errors.RETRY_AFTER_SECONDS), label
        if label.startswith(("api", "health")):
            assert response.mimetype == "application/problem+json", label
            body = response.get_json()
            assert (body["status"], body["code"], body["title"]) == (
                503,
                "database_unavailable",
                "服务暂不可用",
            )
        else:
            assert response.mimetype == "text/html" and "数据库暂时无法访问" in response.get_data(
                as_text=True
            )
    logged = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(logged) == len(answers), [r.getMessage() for r in logged]
    assert all(r.name == "server.errors" and r.exc_info is None and not r.exc_text for r in logged)
    assert all("database unavailable, answered 503" in r.getMessage() for r in logged)


def _seed(url: str) -> None:
    migrate.upgrade(url)
    rt = Runtime(Settings(database_url=url))
    with rt.db.transaction() as session:
        org.add_unit(session, code="ah", name="安徽省", level="province")
        org.add_user(
            session,
            hasher=HASHER,
            username="clerk",
            display_name="办事员",
            password="demo-pass-1",
            role="discipline",
            org_unit_code="ah",
            clock=Clock(),
        )
    rt.db.dispose()


def _login_works(app: Flask) -> None:
    client = app.test_client()
    assert (
        client.post(
            "/api/v1/auth/login", json={"username": "clerk", "password": "demo-pass-1"}
        ).status_code
        == 200
    )
    assert client.get("/api/v1/me").status_code == 200


@pytest.fixture
def postgresql() -> str:
    problem = _pg_reachable()
    if problem:
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    return PG_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1)


def test_postgresql_where_nothing_listens_is_503(
    postgresql: str, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    _assert_unavailable(_app(re.sub(r"@[^/]+/", f"@127.0.0.1:{port}/", postgresql)), caplog)


def test_postgresql_dropped_under_a_running_app_is_503(
    postgresql: str, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"cadreflow_outage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        url = f"{postgresql.rsplit('/', 1)[0]}/{name}"
        _seed(url)
        app = _app(url)
        _login_works(app)
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:  # every connection cut
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name]
            )
        _login_works(app)  # a lost connection is replaced: no outage
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        _assert_unavailable(app, caplog)
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_sqlite_file_that_cannot_be_opened_is_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    where = tmp_path / "cadreflow.db"
    where.mkdir()  # a directory where the file should be
    _assert_unavailable(_app(f"sqlite:///{where}"), caplog)


def test_sqlite_file_that_is_no_longer_a_database_is_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    where = tmp_path / "cadreflow.db"
    _seed(f"sqlite:///{where}")
    rt = Runtime(Settings(database_url=f"sqlite:///{where}"))
    app = create_app(rt)
    _login_works(app)
    with where.open("r+b") as file:  # the disk gives back garbage
        file.write(b"not a database page " * 4096)
    for journal in tmp_path.glob("cadreflow.db-*"):
        journal.unlink()
    rt.db.dispose()  # open connections serve their cached pages; new ones read the file
    _assert_unavailable(app, caplog)


def test_a_mistake_in_a_statement_is_still_a_500_with_its_traceback(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    where = tmp_path / "empty.db"  # opens fine, but no migration ran: "no such table"
    where.touch()
    app = _app(f"sqlite:///{where}")
    with caplog.at_level(logging.INFO):
        response = app.test_client().get(
            "/api/v1/cases", headers={"Authorization": "Bearer some-token"}
        )
    assert response.status_code == 500 and "Retry-After" not in response.headers
    assert any(r.exc_info for r in caplog.records if r.levelno >= logging.ERROR)


def _raised(run: Callable[[], object]) -> Exception:
    try:
        run()
    except Exception as err:  # noqa: BLE001 - the error itself is what is looked at
        return err
    raise AssertionError("nothing was raised")


def test_which_real_database_errors_are_an_outage(tmp_path: Path, postgresql: str) -> None:
    path = tmp_path / "locked.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("CREATE TABLE t (x INTEGER PRIMARY KEY)")
    holder.execute("BEGIN EXCLUSIVE")  # held by another connection: the file stays locked
    waiter = sqlite3.connect(path, timeout=0)
    assert db.unavailable(_raised(lambda: waiter.execute("SELECT * FROM t")))
    holder.rollback()
    for mistake in ("SELEC 1", "SELECT * FROM missing", "INSERT INTO t VALUES (1), (1)"):
        assert not db.unavailable(_raised(lambda statement=mistake: waiter.execute(statement))), (
            mistake
        )
    waiter.close()
    holder.close()
    engine = create_engine(postgresql)
    try:
        with engine.connect() as conn:
            assert not db.unavailable(_raised(lambda: conn.execute(text("SELECT * FROM missing"))))
        with engine.connect() as conn:
            assert not db.unavailable(_raised(lambda: conn.execute(text("SELECT 1/0"))))
        with engine.connect() as conn:  # a statement past its time limit: try again later
            conn.execute(text("SET statement_timeout = 10"))
            assert db.unavailable(_raised(lambda: conn.execute(text("SELECT pg_sleep(1)"))))
    finally:
        engine.dispose()
