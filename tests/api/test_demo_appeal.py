"""The demo users alone carry an appeal through: 王建国 appeals his served decision, the
second organization clerk accepts it (the first served the decision: 回避) naming the second
discipline clerk (the first investigated), who reviews it; the first ones are refused."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.api.conftest import Api
from tests.support.apps import app_for
from tests.support.world import load_demo
from workflows import demo
from workflows.runtime import Runtime


@pytest.fixture
def demo_app(rt: Runtime) -> Flask:
    """The demo as `make run` loads it, on every process of bpmn/."""
    loaded = load_demo(rt)
    assert "accountability_decided" in loaded.loaded, loaded.skipped
    return app_for(rt)


def _signin(app: Flask, username: str) -> Api:
    client = app.test_client()
    response = client.post(
        "/api/v1/auth/login", json={"username": username, "password": demo.PASSWORD}
    )
    assert response.status_code == 200, (username, response.get_json())
    return Api(client, response.get_json()["csrf_token"])


def _open_task(api: Api, case_id: int, element: str) -> int:
    tasks = api.get(f"/cases/{case_id}").get_json()["tasks"]
    found = [t["id"] for t in tasks if t["element"] == element]
    assert len(found) == 1, tasks
    return int(found[0])


def test_an_appeal_passes_acceptance_and_review_with_demo_users_only(demo_app: Flask) -> None:
    cadre = _signin(demo_app, "wangjianguo")
    served = cadre.get("/me/cases").get_json()["decisions"][0]["case"]
    filed = cadre.post(f"/cases/{served['id']}/appeals", json={"grounds": "调离岗位处理过重"})
    assert filed.status_code == 201, filed.get_json()
    appeal = filed.get_json()["id"]

    clerk = _signin(demo_app, "organization2.ah-hf-fd")
    accept = _open_task(clerk, appeal, "accept")
    today = "2026-06-01"
    served_by = _signin(demo_app, "organization.ah-hf-fd")
    recused = served_by.post(
        f"/tasks/{accept}/complete",
        json={"data": {"reviewer": "discipline2.ah-hf-fd", "accepted_on": today}},
    )
    assert recused.status_code == 403 and "回避" in recused.get_json()["detail"]
    investigator = clerk.post(
        f"/tasks/{accept}/complete",
        json={"data": {"reviewer": "discipline.ah-hf-fd", "accepted_on": today}},
    )
    assert investigator.status_code == 422 and "回避" in str(investigator.get_json()["errors"])
    accepted = clerk.post(
        f"/tasks/{accept}/complete",
        json={"data": {"reviewer": "discipline2.ah-hf-fd", "accepted_on": today}},
    )
    assert accepted.status_code == 200, accepted.get_json()
    (review,) = accepted.get_json()["next_tasks"]
    assert (review["element"], review["assignee"]) == ("review", "discipline2.ah-hf-fd")

    refused = _signin(demo_app, "discipline.ah-hf-fd").post(
        f"/tasks/{review['id']}/complete", json={"data": {"outcome": "uphold", "reason": "x"}}
    )
    assert refused.status_code == 403
    reviewed = _signin(demo_app, "discipline2.ah-hf-fd").post(
        f"/tasks/{review['id']}/complete",
        json={"data": {"outcome": "uphold", "reason": "事实清楚，处理适当"}},
    )
    assert reviewed.status_code == 200, reviewed.get_json()
    assert [t["element"] for t in reviewed.get_json()["next_tasks"]] == ["notify"]
