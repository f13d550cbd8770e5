"""Logging in, sessions (idle and absolute expiry, logout), CSRF, lockout, tokens."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from flask import Flask

from server import create_app
from tests.api.conftest import Api
from tests.conftest import advance_clock
from workflows.runtime import Runtime


def _login(app: Flask, username: str, password: str) -> Any:
    return app.test_client().post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )


def test_login_sets_an_httponly_lax_cookie_and_me_answers(app: Flask) -> None:
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"username": "discipline.hf", "password": "demo-pass-1"}
    )
    assert response.status_code == 200
    cookie = next(
        h for h in response.headers.getlist("Set-Cookie") if h.startswith("cadreflow_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    me = client.get("/api/v1/me").get_json()
    assert (me["username"], me["role"], me["org_unit"], me["role_name"]) == (
        "discipline.hf",
        "discipline",
        "ah-hf",
        "纪检监察机关",
    )
    assert me["sees_units"] == ["ah-hf"]


def test_supervisor_sees_the_units_below(login: Any) -> None:
    assert login("supervisor.hf").get("/me").get_json()["sees_units"] == ["ah-hf", "ah-hf-fd"]


def test_wrong_password_is_401_problem_json_and_audited(app: Flask, rt: Runtime) -> None:
    response = _login(app, "discipline.hf", "wrong-password")
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["code"] == "unauthenticated"
    from sqlalchemy import select

    from workflows.engine.models import AuditEvent

    with rt.db.reading() as session:
        actions = list(
            session.execute(
                select(AuditEvent.action).where(AuditEvent.actor == "discipline.hf")
            ).scalars()
        )
    assert "auth.failed" in actions and "api.refused" in actions


def test_unknown_user_gets_the_same_answer_as_a_wrong_password(app: Flask) -> None:
    a, b = _login(app, "nobody", "whatever-1"), _login(app, "discipline.hf", "whatever-1")
    assert (a.status_code, a.get_json()["detail"]) == (b.status_code, b.get_json()["detail"])


def test_five_failures_lock_the_account_for_fifteen_minutes(app: Flask, rt: Runtime) -> None:
    for _ in range(4):
        assert _login(app, "committee.hf", "bad-pass-0").status_code == 401
    locked = _login(app, "committee.hf", "bad-pass-0")
    assert locked.status_code == 423 and locked.get_json()["code"] == "account_locked"
    assert _login(app, "committee.hf", "demo-pass-1").status_code == 423  # even the right one
    advance_clock(rt, minutes=16)
    assert _login(app, "committee.hf", "demo-pass-1").status_code == 200


def test_missing_fields_name_the_field(app: Flask) -> None:
    response = app.test_client().post("/api/v1/auth/login", json={"username": "x"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"password": ["必填"]}


def test_no_cookie_is_401(app: Flask) -> None:
    response = app.test_client().get("/api/v1/me")
    assert response.status_code == 401 and response.mimetype == "application/problem+json"


def test_session_expires_after_thirty_idle_minutes(login: Any, rt: Runtime) -> None:
    api = login("discipline.hf")
    advance_clock(rt, minutes=20)
    assert api.get("/me").status_code == 200  # moves the idle limit
    advance_clock(rt, minutes=20)
    assert api.get("/me").status_code == 200
    advance_clock(rt, minutes=31)
    assert api.get("/me").status_code == 401


def test_session_ends_twelve_hours_after_login_even_when_busy(login: Any, rt: Runtime) -> None:
    api = login("discipline.hf")
    for _ in range(25):
        advance_clock(rt, minutes=29)
        if api.get("/me").status_code != 200:
            break
    assert api.get("/me").status_code == 401
    # 12 h = 24.8 steps of 29 minutes: the session lasted until its absolute limit
    assert rt.clock is not None


def test_logout_revokes_the_session_on_the_server(app: Flask, login: Any) -> None:
    api = login("discipline.hf")
    cookie = api.client.get_cookie("cadreflow_session").value
    assert api.post("/auth/logout").status_code == 204
    other = app.test_client()
    other.set_cookie("cadreflow_session", cookie)
    assert other.get("/api/v1/me").status_code == 401


def test_each_login_gets_a_new_session_id(app: Flask) -> None:
    client = app.test_client()
    ids = set()
    for _ in range(2):
        client.post(
            "/api/v1/auth/login", json={"username": "discipline.hf", "password": "demo-pass-1"}
        )
        ids.add(client.get_cookie("cadreflow_session").value)
    assert len(ids) == 2


def test_cookie_writes_need_the_csrf_header(login: Any) -> None:
    api = login("discipline.hf")
    without = api.client.post("/api/v1/auth/tokens", json={"name": "x"})
    assert without.status_code == 403 and "CSRF" in without.get_json()["detail"]
    assert api.post("/auth/tokens", json={"name": "x"}).status_code == 201


def test_bearer_tokens_work_without_csrf_and_stop_when_revoked(app: Flask, login: Any) -> None:
    api = login("organization.hf")
    issued = api.post("/auth/tokens", json={"name": "档案系统对接", "days": 30}).get_json()
    assert issued["token"].startswith("cft_")
    bare = app.test_client()
    headers = {"Authorization": f"Bearer {issued['token']}"}
    assert bare.get("/api/v1/me", headers=headers).get_json()["username"] == "organization.hf"
    assert bare.post("/api/v1/auth/tokens", json={"name": "y"}, headers=headers).status_code == 201
    listed = api.get("/auth/tokens").get_json()
    assert all("token" not in t for t in listed) and len(listed) == 2
    assert api.post(f"/auth/tokens/{issued['id']}/revoke").status_code == 204
    assert bare.get("/api/v1/me", headers=headers).status_code == 401


def test_a_token_of_another_user_cannot_be_revoked(login: Any) -> None:
    mine = login("organization.hf").post("/auth/tokens", json={"name": "a"}).get_json()
    assert login("discipline.hf").post(f"/auth/tokens/{mine['id']}/revoke").status_code == 404


def test_token_lifetime_is_checked(login: Any) -> None:
    response = login("organization.hf").post("/auth/tokens", json={"name": "a", "days": 999})
    assert response.status_code == 422 and "days" in response.get_json()["errors"]


def _worker(rt: Runtime) -> Runtime:
    """Another process on the same database (a second server worker): its own clock and pool."""
    return Runtime(rt.settings)


def test_a_login_right_after_another_worker_moved_the_clock_opens_a_live_session(
    app: Flask, rt: Runtime, login: Any
) -> None:
    other = _worker(rt)
    try:
        mover = create_app(other, TESTING=True).test_client()
        signed = mover.post(
            "/api/v1/auth/login", json={"username": "admin.hf", "password": "demo-pass-1"}
        )
        moved = Api(mover, signed.get_json()["csrf_token"]).post(
            "/admin/clock", json={"advance": "31d"}
        )
        assert moved.status_code == 200, moved.get_json()
    finally:
        other.db.dispose()
    now = datetime.fromisoformat(moved.get_json()["now"])
    client = app.test_client()  # this worker has not read the clock since it moved
    opened = client.post(
        "/api/v1/auth/login", json={"username": "discipline.hf", "password": "demo-pass-1"}
    )
    assert opened.status_code == 200
    assert datetime.fromisoformat(opened.get_json()["expires_at"]) > now
    assert client.get("/api/v1/me").status_code == 200


def test_a_page_login_right_after_the_cli_moved_the_clock_opens_a_live_session(
    app: Flask, rt: Runtime
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CADREFLOW_")}
    env.update(CADREFLOW_DATABASE_URL=rt.settings.database_url, CLOCK_ADJUSTABLE="1")
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cadreflow"), "clock", "advance", "31d"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    client = app.test_client()
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)
    )
    assert token is not None
    signed_in = client.post(
        "/login",
        data={"username": "discipline.hf", "password": "demo-pass-1", "csrf_token": token.group(1)},
    )
    assert signed_in.status_code == 303
    inbox = client.get("/tasks")
    assert inbox.status_code == 200, inbox.headers.get("Location")
