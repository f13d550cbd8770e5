"""Request bodies past the app-wide cap (CADREFLOW_MAX_REQUEST_BYTES) are refused unread:
a problem body for the API, a page for people; nothing is stored."""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from server import create_app, inputs
from tests.support.world import World
from workflows.engine.models import AuditEvent
from workflows.org.models import LoginSession
from workflows.runtime import Runtime

CAP = 4096


def _small_app(rt: Runtime) -> Flask:
    return create_app(rt, TESTING=True, MAX_CONTENT_LENGTH=CAP)


def _sessions(rt: Runtime) -> int:
    with rt.db.reading() as session:
        return session.execute(select(func.count()).select_from(LoginSession)).scalar_one()


def test_the_default_cap_comes_from_the_settings(rt: Runtime, world: World) -> None:
    assert (
        create_app(rt, TESTING=True).config["MAX_CONTENT_LENGTH"] == rt.settings.max_request_bytes
    )
    assert rt.settings.max_request_bytes == 16 * 1024 * 1024


def test_an_oversized_api_body_is_a_problem_and_stores_nothing(rt: Runtime, world: World) -> None:
    before = _sessions(rt)
    response = (
        _small_app(rt)
        .test_client()
        .post(
            "/api/v1/auth/login",
            json={"username": "discipline.hf", "password": "demo-pass-1", "pad": "x" * CAP},
        )
    )
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "request_too_large" and body["max_bytes"] == CAP
    assert body["title"] == "请求过大" and "4 KB" in body["detail"]
    assert _sessions(rt) == before, "a refused login opened a session"
    with rt.db.reading() as session:
        refused = (
            session.execute(
                select(AuditEvent)
                .where(AuditEvent.action == "api.refused")
                .order_by(AuditEvent.id.desc())
            )
            .scalars()
            .first()
        )
    assert refused is not None and "413 request_too_large" in refused.detail


def test_a_body_under_the_cap_goes_through(rt: Runtime, world: World) -> None:
    response = (
        _small_app(rt)
        .test_client()
        .post("/api/v1/auth/login", json={"username": "discipline.hf", "password": "demo-pass-1"})
    )
    assert response.status_code == 200


def test_an_oversized_form_is_refused_with_a_page_in_chinese(rt: Runtime, world: World) -> None:
    response = (
        _small_app(rt)
        .test_client()
        .post("/login", data={"username": "discipline.hf", "password": "x" * CAP})
    )
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "请求过大" in page and "4 KB" in page


# -- nesting -------------------------------------------------------------------------------------
DEEP = 1200  # past Python's recursion limit: a parser would fail with a RecursionError
DEEP_BODIES = {
    "arrays": "[" * DEEP + "]" * DEEP,
    "objects": '{"a":' * DEEP + "1" + "}" * DEEP,
    "unclosed": "[" * DEEP,
    "mixed": '{"data":' + '[{"k":' * (DEEP // 2) + "1" + "}]" * (DEEP // 2) + "}",
}
REFUSED = {"(body)": ["JSON 嵌套不能超过 64 层"]}


def _operations(app: Flask) -> list[tuple[str, str]]:
    """Every operation of the API, with 1 for each path parameter."""
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "1", path))
        for path, operations in spec["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_a_deeply_nested_body_is_refused_before_login_on_every_operation(app: Flask) -> None:
    operations = _operations(app)
    assert len(operations) > 40
    client = app.test_client()
    for name, body in DEEP_BODIES.items():
        for method, path in operations:
            response = client.open(path, method=method, data=body, content_type="application/json")
            assert response.status_code == 422, (name, method, path, response.status_code)
            assert response.mimetype == "application/problem+json"
            assert response.get_json()["errors"] == REFUSED, (name, method, path)


def test_a_deeply_nested_body_sent_to_a_page_is_a_page_not_a_server_error(
    login: Any, app: Flask
) -> None:
    client = app.test_client()
    for path in (
        "/login",
        "/",
        "/tasks/1/comments",
        "/forms/accountability_decide.schema.json",
        "/nowhere",
    ):
        response = client.post(path, data=DEEP_BODIES["arrays"], content_type="application/json")
        assert response.status_code == 422 and response.mimetype == "text/html", path
        assert "JSON 嵌套不能超过 64 层" in response.get_data(as_text=True)
    signed_in = login("discipline.hf").client
    response = signed_in.post(
        "/tasks/1/comments", data=DEEP_BODIES["objects"], content_type="application/json"
    )
    assert response.status_code == 422
    signed_in.set_cookie(
        "cadreflow_flash", base64.urlsafe_b64encode(b"[" * DEEP + b"]" * DEEP).decode()
    )
    assert signed_in.get("/tasks").status_code == 200  # a flash cookie made by hand is dropped


def test_nesting_up_to_the_limit_goes_through(login: Any) -> None:
    api = login("discipline.hf")
    deep = {"note": "x"}
    for _ in range(inputs.MAX_JSON_DEPTH - 2):
        deep = {"a": deep}
    response = api.post(
        "/auth/tokens", json={"name": "n", "extra": deep}
    )  # 64 levels with the body
    assert response.status_code == 422 and set(response.get_json()["errors"]) == {"extra"}
    response = api.post("/auth/tokens", json={"name": "n", "extra": {"a": deep}})
    assert response.status_code == 422 and response.get_json()["errors"] == REFUSED


def test_the_depth_is_counted_outside_strings_and_without_parsing() -> None:
    assert not inputs.too_deep(json.dumps({"text": "[" * 5000 + "{" * 5000}))
    assert not inputs.too_deep(json.dumps({"text": '\\"[[' * 5000}))
    assert not inputs.too_deep("[]" * 100_000)
    assert not inputs.too_deep("[" * 64 + "]" * 64) and inputs.too_deep("[" * 65 + "]" * 65)
    assert inputs.too_deep("[" * 65) and inputs.too_deep("[[]" * 64 + "]" * 64)
    assert not inputs.too_deep("[[]" * 63 + "]" * 63)
    assert not inputs.too_deep("]" * 100 + "[" * 10)  # malformed, not deep: the parser names it
    # one linear scan, however deep: 16 MB nested 8 million levels (which a parser would recurse
    # into) takes about as long as 16 MB of flat pairs, measured side by side in this run
    big = b"[" * 8_000_000 + b"]" * 8_000_000
    flat = b"[]" * 8_000_000
    started = time.perf_counter()
    assert not inputs.too_deep(flat)
    flat_took = time.perf_counter() - started
    started = time.perf_counter()
    assert inputs.too_deep(big)
    assert time.perf_counter() - started < 3 * flat_took + 0.05
