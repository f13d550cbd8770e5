"""A form's rules over HTTP: every problem of a submission in one 422 answer, in Chinese and
naming each field; dates of things done not after today; 立案日期 in the case body."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tests.support.world import FINDING, World


def test_every_problem_of_a_form_comes_in_one_answer(world: World, login: Any) -> None:
    """约谈 with 降职 ticked, no reason, a decision dated five months ahead: three problems,
    one refusal, nothing stored."""
    case = world.awaiting_decision()
    task = world.task(case, "decide")
    ahead = (world.today() + timedelta(days=150)).isoformat()
    bad = login("committee.hf").post(
        f"/tasks/{task.id}/complete",
        json={"data": {"outcome": "admonishment", "adjustment": "demotion", "decided_on": ahead}},
    )
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    body = bad.get_json()
    assert body["errors"] == {
        "adjustment": [
            (
                "选择「决定：不予问责、从轻减轻处理或约谈」时不能填写此项，请改选或清空："
                "§6 只有组织调整才有调整方式：约谈、不予问责、从轻减轻处理不能同时选定组织调整方式"
            )
        ],
        "decided_on": [f"不能晚于今天（{world.today()}）：所记录的事须已发生"],
        "reason": ["请填写此项"],
    }
    assert body["detail"].startswith("表单有 3 处需要修改：")
    assert "「决定日期」" in body["detail"] and "「组织调整方式」" in body["detail"]
    assert world.task(case, "decide").id == task.id  # still open: nothing stored


def test_a_rule_that_holds_on_a_choice_applies_only_then(world: World, login: Any) -> None:
    """组织调整 needs its 调整方式; 约谈 without one is accepted."""
    case = world.awaiting_decision()
    task = world.task(case, "decide")
    api = login("committee.hf")
    today = world.today().isoformat()
    missing = api.post(
        f"/tasks/{task.id}/complete",
        json={"data": {"outcome": "adjustment", "reason": "情节较重", "decided_on": today}},
    )
    assert missing.status_code == 422
    assert missing.get_json()["errors"] == {
        "adjustment": [
            "选择「决定：组织调整」时必填：§6 组织调整须选定调离岗位、改任非领导职务、免职或降职之一"
        ]
    }
    done = api.post(
        f"/tasks/{task.id}/complete",
        json={"data": {"outcome": "admonishment", "reason": "情节较轻", "decided_on": today}},
    )
    assert done.status_code == 200, done.get_json()
    assert world.case(case.id).outcome == "admonishment"


def test_an_investigation_is_not_completed_in_the_future(world: World, login: Any) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    task = world.task(case, "investigate")
    api = login("discipline.hf")
    data = {"findings": "违规拨付属实", "responsibility": "direct"}
    ahead = (world.today() + timedelta(days=150)).isoformat()
    refused = api.post(
        f"/tasks/{task.id}/complete", json={"data": {**data, "investigated_on": ahead}}
    )
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["investigated_on"]
    assert "「调查完成日期」不能晚于今天" in refused.get_json()["detail"]
    today = world.today().isoformat()
    done = api.post(f"/tasks/{task.id}/complete", json={"data": {**data, "investigated_on": today}})
    assert done.status_code == 200, done.get_json()


def test_the_case_body_shows_the_registration_date(world: World, login: Any) -> None:
    """立案日期 is the date 立案 fixed (earlier than the entry here), not the entry moment."""
    case = world.open("accountability", data={**FINDING, "registered_on": "2026-02-20"})
    api = login("discipline.hf")
    body = api.get(f"/cases/{case.id}").get_json()
    assert body["registered_on"] == "2026-02-20"
    assert body["opened_at"].startswith(world.today().isoformat())
    world.complete(case, "register", {"registered_on": "2026-02-25"}, "discipline.hf")
    listed = api.get("/cases", query_string={"q": case.number}).get_json()["items"]
    assert [c["registered_on"] for c in listed] == ["2026-02-25"]
