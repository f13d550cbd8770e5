"""The pages' rules that a browser hides: redirects, CSRF, lockout, htmx answers, scope."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import advance_clock
from tests.support.world import World
from tests.ui.conftest import csrf_of, submit_login
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime
from workflows.tasks import deadlines

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
HTMX = {"HX-Request": "true"}


def _investigation(world: World) -> int:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    return world.task(case, "investigate").id


def test_start_page_sends_strangers_to_login_and_clerks_to_their_inbox(
    app: Flask, logged_in: Any
) -> None:
    assert app.test_client().get("/").headers["Location"] == "/login"
    client, _ = logged_in("discipline.hf")
    assert client.get("/").headers["Location"] == "/tasks"
    assert client.get("/login").headers["Location"] == "/tasks"


def test_a_page_without_login_redirects_to_login_and_back(app: Flask) -> None:
    client = app.test_client()
    assert 'name="next"' not in client.get("/login").get_data(as_text=True)
    response = client.get("/notifications?page=2")
    assert response.status_code == 303
    assert response.headers["Location"] == "/login?next=/notifications?page%3D2"
    form = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<input type="hidden" name="next" value="/notifications?page=2">' in form
    done = submit_login(client, "discipline.hf", next="/notifications?page=2")
    assert done.headers["Location"] == "/notifications?page=2"


@pytest.mark.parametrize(
    "target",
    [
        "https://elsewhere.example/",
        "//elsewhere.example/x",
        "/\\elsewhere.example",
        "javascript:alert(1)",
    ],
)
def test_login_never_redirects_off_the_site(app: Flask, target: str) -> None:
    response = submit_login(app.test_client(), "discipline.hf", next=target)
    assert response.headers["Location"] == "/tasks"


def test_wrong_password_keeps_the_username_and_says_why_next_to_the_field(
    app: Flask, rt: Runtime
) -> None:
    response = submit_login(app.test_client(), "discipline.hf", "nope")
    html = response.get_data(as_text=True)
    assert response.status_code == 401
    assert 'value="discipline.hf"' in html
    assert '<p class="field-error" id="password-error">用户名或密码错误</p>' in html
    with rt.db.reading() as session:
        assert (
            session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalar()
            == "auth.failed"
        )


def test_empty_fields_are_named(app: Flask) -> None:
    response = submit_login(app.test_client(), "", "")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "请输入用户名" in html and "请输入密码" in html


def test_fifth_wrong_password_locks_the_account(app: Flask) -> None:
    client = app.test_client()
    for _ in range(4):
        assert submit_login(client, "discipline.hf", "nope").status_code == 401
    locked = submit_login(client, "discipline.hf", "nope")
    assert locked.status_code == 423
    assert "账户已锁定" in locked.get_data(as_text=True)
    assert submit_login(client, "discipline.hf").status_code == 423


def test_login_form_needs_its_own_token(app: Flask) -> None:
    client = app.test_client()
    client.get("/login")
    response = client.post(
        "/login",
        data={"username": "discipline.hf", "password": "demo-pass-1", "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert "页面已过期" in response.get_data(as_text=True)


def test_claim_needs_the_csrf_token(logged_in: Any, world: World) -> None:
    task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    refused = client.post(f"/tasks/{task_id}/claim", data={"next": "/tasks"})
    assert refused.status_code == 403 and "CSRF" in refused.get_data(as_text=True)
    done = client.post(
        f"/tasks/{task_id}/claim", data={"csrf_token": csrf, "next": "/tasks?queue=mine"}
    )
    assert done.status_code == 303 and done.headers["Location"] == "/tasks?queue=mine"
    assert world.task(world.case(1), "investigate").assignee == "discipline.hf"
    assert "已认领：责任调查" in client.get("/tasks?queue=mine").get_data(as_text=True)


def test_htmx_claim_returns_the_row_and_a_message(logged_in: Any, world: World) -> None:
    task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    response = client.post(
        f"/tasks/{task_id}/claim",
        data={"queue": "role", "next": "/tasks"},
        headers={**HTMX, "X-CSRF-Token": csrf},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.startswith(f'<tr id="task-{task_id}"') and "取消认领" in html
    assert 'hx-swap-oob="true"' in html and "已认领：责任调查" in html


def test_htmx_claim_of_a_taken_task_shows_who_holds_it(logged_in: Any, world: World) -> None:
    task_id = _investigation(world)
    first, first_csrf = logged_in("discipline.hf")
    second, second_csrf = logged_in("discipline2.hf")
    first.post(f"/tasks/{task_id}/claim", headers={**HTMX, "X-CSRF-Token": first_csrf})
    late = second.post(f"/tasks/{task_id}/claim", headers={**HTMX, "X-CSRF-Token": second_csrf})
    assert late.status_code == 409
    assert late.headers["HX-Retarget"] == "#messages"
    assert "已由discipline hf（合肥市·纪检监察机关）认领办理" in late.get_data(as_text=True)


def test_htmx_request_after_the_session_ended_redirects_to_login(app: Flask, world: World) -> None:
    response = app.test_client().post("/tasks/1/claim", headers=HTMX, data={"next": "/tasks"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"] == "/login?next=/tasks"


def test_another_units_task_is_not_found(logged_in: Any, world: World) -> None:
    task_id = _investigation(world)
    client, _ = logged_in("discipline.wh")
    assert client.get(f"/tasks/{task_id}").status_code == 404
    assert f"/tasks/{task_id}" not in client.get("/tasks").get_data(as_text=True)


def test_inbox_filters_and_sorts(logged_in: Any, world: World, rt: Runtime) -> None:
    first = _investigation(world)
    advance_clock(rt, days=3)
    second = _investigation(world)
    client, _ = logged_in("discipline.hf")
    html = client.get("/tasks?queue=role&sort=-due").get_data(as_text=True)
    assert html.index(f"/tasks/{second}") < html.index(f"/tasks/{first}")
    assert '<input type="hidden" name="next" value="/tasks?queue=role&amp;sort=-due">' in html
    html = client.get("/tasks?queue=role").get_data(as_text=True)
    assert html.index(f"/tasks/{first}") < html.index(f"/tasks/{second}")
    only = client.get("/tasks?queue=role&q=WZ-2026-000002").get_data(as_text=True)
    assert f"/tasks/{second}" in only and f'/tasks/{first}"' not in only
    none = client.get("/tasks?queue=role&process=appeal").get_data(as_text=True)
    assert "没有符合条件的任务" in none
    lenient = client.get("/tasks?queue=bogus&page=-3&overdue=maybe&sort=sideways")
    assert lenient.status_code == 200
    assert client.get("/tasks?queue=role&page=9").headers["Location"] == "/tasks?queue=role"


def test_notifications_list_and_mark_all_read(logged_in: Any, world: World, rt: Runtime) -> None:
    _investigation(world)  # with its tolerance consideration, due the same day
    advance_clock(rt, days=60)
    deadlines.sweep(rt.db, clock=rt.clock)
    client, csrf = logged_in("discipline.hf")
    page = client.get("/notifications").get_data(as_text=True)
    assert '<span class="count">2</span>' in page and "已逾期：责任调查" in page
    done = client.post("/notifications/read", data={"csrf_token": csrf})
    assert done.status_code == 303
    after = client.get("/notifications").get_data(as_text=True)
    assert "已将 2 条通知标为已读" in after and 'class="notice unread"' not in after


def test_logout_ends_the_session(logged_in: Any) -> None:
    client, csrf = logged_in("discipline.hf")
    assert client.post("/logout").status_code == 403
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.headers["Location"] == "/login"
    assert client.get("/tasks").status_code == 303


def test_language_from_query_is_remembered(app: Flask) -> None:
    client = app.test_client()
    assert 'lang="zh-CN"' in client.get("/login").get_data(as_text=True)
    english = client.get("/login?lang=en").get_data(as_text=True)
    assert 'lang="en"' in english and "Log in" in english
    assert "Log in" in client.get("/login").get_data(as_text=True)
    assert client.get("/lang/zh?next=//elsewhere").headers["Location"] == "/"
    assert "登录" in client.get("/login").get_data(as_text=True)


@pytest.mark.parametrize(
    "username", ["discipline.hf", "supervisor.hf", "designer.hf", "admin.hf", "zhang"]
)
def test_every_header_link_opens(logged_in: Any, username: str) -> None:
    client, _ = logged_in(username)
    html = client.get("/").headers["Location"]
    page = client.get(html).get_data(as_text=True)
    nav = page.split('class="main-nav"', 1)[1].split("</nav>", 1)[0] if "main-nav" in page else ""
    for href in [part.split('"', 1)[0] for part in nav.split('href="')[1:]]:
        assert client.get(href).status_code == 200, href
    assert csrf_of(page)
