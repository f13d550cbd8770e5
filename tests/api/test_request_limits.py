"""Request bodies past the app-wide cap (CADREFLOW_MAX_REQUEST_BYTES) are refused unread:
a problem body for the API, a page for people; nothing is stored."""
from __future__ import annotations

from flask import Flask
from sqlalchemy import func, select

from server import create_app
from server.cli import Runtime
from tests.domain_support import World
from workflows.models import AuditEvent
from workflows.org.models import LoginSession

CAP = 4096


def _small_app(rt: Runtime) -> Flask:
    return create_app(rt, TESTING=True, MAX_CONTENT_LENGTH=CAP)


def _sessions(rt: Runtime) -> int:
    with rt.db.reading() as session:
        return session.execute(select(func.count()).select_from(LoginSession)).scalar_one()


def test_the_default_cap_comes_from_the_settings(rt: Runtime, world: World) -> None:
    assert create_app(rt, TESTING=True).config["MAX_CONTENT_LENGTH"] == rt.settings.max_request_bytes
    assert rt.settings.max_request_bytes == 16 * 1024 * 1024


def test_an_oversized_api_body_is_a_problem_and_stores_nothing(rt: Runtime, world: World) -> None:
    before = _sessions(rt)
    response = _small_app(rt).test_client().post(
        "/api/v1/auth/login", json={"username": "discipline.hf", "password": "demo-pass-1", "pad": "x" * CAP})
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["code"] == "request_too_large" and body["max_bytes"] == CAP
    assert body["title"] == "请求过大" and "4 KB" in body["detail"]
    assert _sessions(rt) == before, "a refused login opened a session"
    with rt.db.reading() as session:
        refused = session.execute(select(AuditEvent).where(AuditEvent.action == "api.refused")
                                  .order_by(AuditEvent.id.desc())).scalars().first()
    assert refused is not None and "413 request_too_large" in refused.detail


def test_a_body_under_the_cap_goes_through(rt: Runtime, world: World) -> None:
    response = _small_app(rt).test_client().post(
        "/api/v1/auth/login", json={"username": "discipline.hf", "password": "demo-pass-1"})
    assert response.status_code == 200


def test_an_oversized_form_is_refused_with_a_page_in_chinese(rt: Runtime, world: World) -> None:
    response = _small_app(rt).test_client().post(
        "/login", data={"username": "discipline.hf", "password": "x" * CAP})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "请求过大" in page and "4 KB" in page
