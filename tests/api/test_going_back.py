"""退回 and 撤回 over HTTP: the bodies, the refusals as problem bodies, the timeline, the audit."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.support.world import INVESTIGATED, World
from workflows.cases.models import CaseFile
from workflows.engine.models import AuditEvent, HumanTask


def _completed(world: World, case: CaseFile, element: str) -> int:
    with world.rt.db.reading() as session:
        return (
            session.execute(
                select(HumanTask.id)
                .where(
                    HumanTask.instance_id == case.instance_id,
                    HumanTask.task_spec == element,
                    HumanTask.state == "completed",
                )
                .order_by(HumanTask.id.desc())
            )
            .scalars()
            .first()
        )


def test_committee_sends_the_case_back_for_further_investigation(world: World, login: Any) -> None:
    case = world.awaiting_decision()
    decide = world.task(case, "decide").id
    committee, investigator = login("committee.hf"), login("discipline.hf")

    targets = committee.get(f"/tasks/{decide}/return-targets")
    assert targets.status_code == 200
    assert {t["step"] for t in targets.json} == {"investigate", "consider_tolerance", "register"}
    assert all(t["allowed"] and t["completed_by"] == "discipline.hf" for t in targets.json)
    detail = committee.get(f"/tasks/{decide}").json
    assert {t["step"] for t in detail["return_targets"]} == {t["step"] for t in targets.json}
    assert investigator.get(f"/tasks/{decide}/return-targets").json == []  # may not complete it

    back = committee.post(
        f"/tasks/{decide}/return",
        json={"to_step": "investigate", "reason": "资金流向未查清，补充调查"},
    )
    assert back.status_code == 200, back.json
    body = back.json
    assert body["kind"] == "return" and body["reason"] == "资金流向未查清，补充调查"
    assert body["cancelled"] == [decide]
    reopened = body["reopened"]
    assert (reopened["element"], reopened["assignee"], reopened["state"]) == (
        "investigate",
        "discipline.hf",
        "open",
    )
    shown = investigator.get(f"/tasks/{reopened['id']}").json
    assert shown["reopened_by"]["reason"] == "资金流向未查清，补充调查"
    assert (
        shown["reopened_by"]["label"] == "退回" and shown["reopened_by"]["actor"] == "committee.hf"
    )
    assert shown["reopened_by"]["entered"] == INVESTIGATED
    assert "（合肥市·" in shown["reopened_by"]["actor_name"]  # 姓名（单位·岗位）, not a login id
    assert all("（合肥市·" in t["completed_by_name"] for t in targets.json)
    notices = investigator.get("/notifications").json["items"]
    assert any(n["kind"] == "returned" and "资金流向未查清" in n["body"] for n in notices)

    timeline = committee.get(f"/cases/{case.id}").json["timeline"]
    returned = [e for e in timeline if e["action"] == "task.return"]
    assert returned and "退回至「责任调查」：资金流向未查清，补充调查" in returned[0]["note"]
    assert any(e["action"] == "task.reopen" for e in timeline)

    again = committee.post(
        f"/tasks/{decide}/return", json={"to_step": "investigate", "reason": "再退"}
    )
    assert again.status_code in (404, 409)  # the task is no longer open (or visible) to them


def test_bad_returns_are_problem_bodies_naming_the_field(world: World, login: Any) -> None:
    case = world.awaiting_decision()
    decide = world.task(case, "decide").id
    committee = login("committee.hf")
    no_reason = committee.post(
        f"/tasks/{decide}/return", json={"to_step": "investigate", "reason": ""}
    )
    assert no_reason.status_code == 422
    assert no_reason.headers["Content-Type"].startswith("application/problem+json")
    assert "reason" in json.dumps(no_reason.json)
    blank = committee.post(
        f"/tasks/{decide}/return", json={"to_step": "investigate", "reason": "   "}
    )
    assert blank.status_code == 422 and "reason" in json.dumps(blank.json)
    later = committee.post(f"/tasks/{decide}/return", json={"to_step": "notify", "reason": "x"})
    assert later.status_code == 422
    assert "to_step" in json.dumps(later.json) and "责任调查（investigate）" in json.dumps(
        later.json, ensure_ascii=False
    )
    missing = committee.post(f"/tasks/{decide}/return", json={"reason": "x"})
    assert missing.status_code == 422 and "to_step" in json.dumps(missing.json)
    assert (
        login("discipline.hf")
        .post(f"/tasks/{decide}/return", json={"to_step": "investigate", "reason": "x"})
        .status_code
        == 403
    )
    assert (
        login("committee.wh")
        .post(f"/tasks/{decide}/return", json={"to_step": "investigate", "reason": "x"})
        .status_code
        == 404
    )
    assert world.task(case, "decide").id == decide  # nothing moved


def test_withdraw_over_http_and_its_refusals(world: World, login: Any) -> None:
    case = world.awaiting_decision()
    considered = _completed(world, case, "consider_tolerance")
    investigator, colleague = login("discipline.hf"), login("discipline2.hf")
    detail = investigator.get(f"/tasks/{considered}").json
    assert detail["may_withdraw"] is True and detail["withdraw_refusal"] is None
    other = colleague.post(f"/tasks/{considered}/withdraw", json={"reason": "x"})
    assert other.status_code == 403
    done = investigator.post(f"/tasks/{considered}/withdraw", json={"reason": "理由写错了"})
    assert done.status_code == 200, done.json
    assert done.json["kind"] == "withdraw" and done.json["reopened"]["assignee"] == "discipline.hf"
    twice = investigator.post(f"/tasks/{considered}/withdraw", json={"reason": "x"})
    assert twice.status_code == 409
    with world.rt.db.reading() as session:
        actions = [
            a
            for a in session.execute(
                select(AuditEvent.action).where(AuditEvent.instance_id == case.instance_id)
            ).scalars()
        ]
    assert actions.count("task.withdraw") == 1 and actions.count("task.reopen") == 1
