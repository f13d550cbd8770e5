"""Where the six-element decision table's recommendation (容错建议) shows in the API, as the
README says: the 提出认定意见 task's `data.recommendation`, then the decision's."""

from __future__ import annotations

from typing import Any

from tests.domain.cases.test_tolerance import analysis
from tests.support.world import World


def test_the_recommendation_in_the_determination_task_and_the_decision(
    world: World, login: Any
) -> None:
    api = login("discipline.hf")
    opened = api.post(
        "/cases",
        json={
            "process": "tolerance_review",
            "cadre_id": world.cadres["zhang"],
            "source": "cadre",
            "data": {"reasons": "先行先试中的探索性失误", "facts": "试点项目审批流程出现失误"},
        },
    )
    assert opened.status_code == 201, opened.get_json()
    case = world.case(opened.get_json()["id"])
    world.complete(
        case,
        "accept",
        {"acceptance": "accept", "verification": "skip", "skip_reason": "事实已由申请材料查清"},
        "discipline.hf",
    )
    world.complete(case, "analyse", analysis(), "discipline.hf")
    determine = world.task(case, "determine")
    task = api.get(f"/tasks/{determine.id}").get_json()
    assert task["data"]["recommendation"] == "exempt"
    assert task["ui_schema"]["recommendation"] == {"ui:readonly": True}
    done = api.post(
        f"/tasks/{determine.id}/complete",
        json={"data": {"opinion": "exempt", "opinion_reason": "综合六个要件，予以免责"}},
    )
    assert done.status_code == 200, done.get_json()
    world.complete(
        case,
        "approve",
        {
            "approval": "approve",
            "rectification_requirements": "完善审批程序",
            "rectification_deadline": "2026-06-30",
        },
        "committee.hf",
    )
    (decision,) = api.get(f"/cases/{case.id}").get_json()["decisions"]
    assert (decision["outcome"], decision["recommendation"]) == ("exempt", "exempt")
    assert decision["departure_reason"] is None
