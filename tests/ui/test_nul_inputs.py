"""A NUL character anywhere a request carries text — a query parameter, a path segment, a
form field, a JSON string — is refused before any view as a validation error naming the
field (PostgreSQL would refuse it with a 500; SQLite would store it); nothing is stored.
Every GET of the OpenAPI document and the pages' filters, as each kind of user, with NUL
in each query parameter: no 5xx."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import func, select

from tests.support.world import World
from workflows.runtime import Runtime
from workflows.tasks.models import TaskComment

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
PAGES = [
    "/cases?q=a%00b&unit=a%00b",
    "/cases?process=a%00b&status=a%00b",
    "/tasks?q=a%00b&process=a%00b",
    "/cadres?q=a%00b",
    "/blacklist?q=a%00b",
    "/supervision/overdue?unit=a%00b&process=a%00b&role=a%00b",
    "/admin/audit?actor=a%00b&action=a%00b&object_type=a%00b",
    "/cases/new/cadres?cadre_q=a%00b",
    "/cases/new?kind=a%00b&title=a%00b",
    "/login?next=a%00b",
]


def _comments(rt: Runtime) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(TaskComment)).scalar_one())


def test_nul_is_refused_naming_the_field_and_nothing_is_stored(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    task_id = world.task(case, "register").id
    client, csrf = logged_in("discipline.hf")

    query = client.get("/api/v1/cases?q=a%00b")
    assert query.status_code == 422 and query.mimetype == "application/problem+json"
    assert query.get_json()["errors"] == {"q": ["不能含有空字符（NUL, \\u0000）"]}
    path = client.get("/api/v1/processes/acc%00ountability")
    assert path.status_code == 422 and "key" in path.get_json()["errors"]

    body = client.post(
        f"/api/v1/tasks/{task_id}/comments",
        json={"body": "意见\u0000"},
        headers={"X-CSRF-Token": csrf},
    )
    assert body.status_code == 422 and body.get_json()["errors"] == {
        "body": ["不能含有空字符（NUL, \\u0000）"]
    }
    nested = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        json={"data": {"list": ["ok", "a\u0000"]}},
        headers={"X-CSRF-Token": csrf},
    )
    assert nested.status_code == 422 and list(nested.get_json()["errors"]) == ["data.list[1]"]
    escaped = client.post(
        f"/api/v1/tasks/{task_id}/comments",
        json={"body": "字面的 \\u0000 不是空字符"},
        headers={"X-CSRF-Token": csrf},
    )
    assert escaped.status_code == 201  # a backslash and "u0000" are text

    page = client.post(f"/tasks/{task_id}/comments", data={"csrf_token": csrf, "body": "意见\x00"})
    assert page.status_code == 422 and "不能含有空字符" in page.get_data(as_text=True)
    assert _comments(rt) == 1


def test_no_query_parameter_with_nul_gets_a_server_error(
    logged_in: Any, world: World, app: Flask
) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    asked = [
        path + f"?{parameter['name']}=a%00b"
        for path, operations in spec["paths"].items()
        if "get" in operations and "{" not in path
        for parameter in operations["get"].get("parameters", [])
        if parameter.get("in") == "query"
    ]
    assert len(asked) > 20
    for username in ("discipline.hf", "supervisor.hf", "admin.hf", "designer.hf", "zhang"):
        client, _csrf = logged_in(username)
        answers = {url: client.get(url).status_code for url in [*asked, *PAGES]}
        assert all(code < 500 for code in answers.values()), (username, answers)
        assert answers["/api/v1/cases?q=a%00b"] == 422


def test_a_refusal_about_a_nul_is_audited_with_the_nul_written_out(
    app: Flask, logged_in: Any, rt: Runtime
) -> None:
    from workflows.engine.models import AuditEvent

    client = app.test_client()
    response = client.post("/api/v1/auth/login", json={"username": "a\u0000b", "password": "x"})
    assert response.status_code == 422 and list(response.get_json()["errors"]) == ["username"]
    admin, csrf = logged_in("admin.hf")
    patched = admin.patch(
        "/api/v1/admin/users/a%00b", json={"display_name": "x"}, headers={"X-CSRF-Token": csrf}
    )
    assert patched.status_code == 422
    with rt.db.reading() as session:
        refused = session.execute(
            select(AuditEvent.actor, AuditEvent.object_id)
            .where(AuditEvent.action == "api.refused")
            .order_by(AuditEvent.id)
        ).all()
    # The path is refused before anyone is identified: anonymous.
    assert [tuple(row) for row in refused] == [
        ("a\\u0000b", "POST /api/v1/auth/login"),
        ("anonymous", "PATCH /api/v1/admin/users/a\\u0000b"),
    ]
