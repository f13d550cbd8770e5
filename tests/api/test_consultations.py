"""加签 (ask for opinions) and 抄送 (copy) over HTTP: the bodies, the refusals and the 409 of a
completion while opinions are missing."""

from __future__ import annotations

from typing import Any

from tests.support.world import World

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
SECOND = "第二审查员（合肥市·纪检监察机关）"


def _register(world: World) -> tuple[int, int]:
    case = world.open("accountability", data=REGISTER)
    return case.id, world.task(case, "register").id


def test_ask_answer_then_complete(world: World, login: Any) -> None:
    case_id, task_id = _register(world)
    me, second, org_ = login("discipline.hf"), login("discipline2.hf"), login("organization.hf")
    offered = me.get(f"/tasks/{task_id}/colleagues").get_json()
    assert {"username": "discipline2.hf", "name": "第二审查员", "label": SECOND} in offered
    assert not {p["username"] for p in offered} & {"discipline.hf", "discipline.wh", "zhang"}
    assert org_.get(f"/tasks/{task_id}/colleagues").get_json() == []  # not theirs to complete

    asked = me.post(
        f"/tasks/{task_id}/consultations",
        json={"users": ["discipline2.hf", "organization.hf"], "question": "是否立案？"},
    )
    assert asked.status_code == 201, asked.get_json()
    body = asked.get_json()
    assert body["state"] == "open" and body["question"] == "是否立案？"
    assert body["missing"] == [SECOND, "organization hf（合肥市·组织部门）"]
    assert body["actions"] == ["withdraw"] and body["asked_by_name"].startswith("discipline hf")

    detail = me.get(f"/tasks/{task_id}").get_json()
    assert detail["may_complete"] is False and SECOND in detail["why_not"]
    assert "complete" not in detail["actions"] and "consult" in detail["actions"]
    assert [c["id"] for c in detail["consultations"]] == [body["id"]]

    refused = me.post(f"/tasks/{task_id}/complete", json={"data": {}})
    assert refused.status_code == 409
    problem = refused.get_json()
    assert problem["code"] == "opinions_missing"
    assert SECOND in problem["detail"] and "organization hf" in problem["detail"]

    todo = second.get("/consultations").get_json()
    assert [(c["id"], c["actions"]) for c in todo["items"]] == [(body["id"], ["answer"])]
    assert second.get(f"/cases/{case_id}").status_code == 200
    empty = second.post(f"/consultations/{body['id']}/answer", json={"opinion": ""})
    assert empty.status_code == 422 and "opinion" in empty.get_json()["errors"]
    answered = second.post(f"/consultations/{body['id']}/answer", json={"opinion": "同意立案"})
    assert answered.status_code == 200
    assert answered.get_json()["opinions"][0] == {
        "username": "discipline2.hf",
        "name": SECOND,
        "opinion": "同意立案",
        "answered_at": answered.get_json()["opinions"][0]["answered_at"],
    }
    assert (
        second.post(f"/consultations/{body['id']}/answer", json={"opinion": "再说"}).status_code
        == 409
    )
    assert second.get("/consultations").get_json()["items"] == []
    assert len(second.get("/consultations?state=answered").get_json()["items"]) == 1
    done = org_.post(f"/consultations/{body['id']}/answer", json={"opinion": "建议补充材料"})
    assert done.get_json()["state"] == "answered" and done.get_json()["missing"] == []

    assert me.post(f"/tasks/{task_id}/complete", json={"data": {}}).status_code == 200
    notes = [e.get("note") for e in me.get(f"/cases/{case_id}").get_json()["timeline"]]
    assert f"{SECOND}：同意立案" in notes


def test_withdraw_then_complete(world: World, login: Any) -> None:
    _case_id, task_id = _register(world)
    me, second = login("discipline.hf"), login("discipline2.hf")
    me.post(f"/tasks/{task_id}/claim")
    asked = me.post(
        f"/tasks/{task_id}/consultations", json={"users": ["discipline2.hf"], "question": "意见？"}
    ).get_json()
    assert second.post(f"/consultations/{asked['id']}/withdraw").status_code == 403
    withdrawn = me.post(f"/consultations/{asked['id']}/withdraw")
    assert withdrawn.status_code == 200
    assert withdrawn.get_json()["state"] == "withdrawn"
    assert withdrawn.get_json()["withdrawn_by"] == "discipline.hf"
    assert me.post(f"/consultations/{asked['id']}/withdraw").status_code == 409
    assert me.post(f"/tasks/{task_id}/complete", json={"data": {}}).status_code == 200


def test_refusals_name_the_field_and_why(world: World, login: Any) -> None:
    _case_id, task_id = _register(world)
    me = login("discipline.hf")
    for users, said in (
        (["discipline.hf"], "不能征求意见自己"),
        (["discipline.wh"], "无权查看"),
        (["zhang"], "干部本人账号"),
        (["discipline2.hf", "discipline2.hf"], "人员重复"),
    ):
        refused = me.post(
            f"/tasks/{task_id}/consultations", json={"users": users, "question": "意见？"}
        )
        assert refused.status_code == 422, users
        assert any(said in m for m in refused.get_json()["errors"]["users"]), refused.get_json()
    too_many = me.post(
        f"/tasks/{task_id}/consultations",
        json={"users": [f"u{i}" for i in range(21)], "question": "意见？"},
    )
    assert too_many.status_code == 422 and "users" in too_many.get_json()["errors"]
    no_question = me.post(f"/tasks/{task_id}/consultations", json={"users": ["discipline2.hf"]})
    assert no_question.status_code == 422 and "question" in no_question.get_json()["errors"]
    copied_self = me.post(
        f"/tasks/{task_id}/copies", json={"users": ["discipline.hf"], "note": "知悉"}
    )
    assert copied_self.status_code == 422
    assert copied_self.get_json()["errors"]["users"] == ["不能抄送自己"]
    assert (
        login("organization.hf")
        .post(f"/tasks/{task_id}/copies", json={"users": ["committee.hf"], "note": "知悉"})
        .status_code
        == 403
    )
    assert me.get(f"/tasks/{task_id}/consultations").get_json() == []


def test_recused_reviewer_colleagues_are_refused_on_an_appeal(world: World, login: Any) -> None:
    _original, appeal_case = world.accepted_appeal(reviewer="discipline2.hf")
    review = world.task(appeal_case, "review").id
    reviewer = login("discipline2.hf")
    refused = reviewer.post(
        f"/tasks/{review}/copies", json={"users": ["committee.hf"], "note": "知悉"}
    )
    assert refused.status_code == 422
    assert refused.get_json()["errors"]["users"][0].startswith("回避：")
    offered = {p["username"] for p in reviewer.get(f"/tasks/{review}/colleagues").get_json()}
    assert "committee.hf" not in offered and "discipline.hf" not in offered
    assert "organization.hf" not in offered  # organization.hf served the original decision


def test_copy_and_copies_to_me(world: World, login: Any) -> None:
    case_id, task_id = _register(world)
    me, committee = login("discipline.hf"), login("committee.hf")
    copied = me.post(
        f"/tasks/{task_id}/copies", json={"users": ["committee.hf"], "note": "请知悉立案情况"}
    )
    assert copied.status_code == 201
    [row] = copied.get_json()
    assert row["username"] == "committee.hf" and row["note"] == "请知悉立案情况"
    assert row["read_at"] is None and row["case_id"] == case_id
    mine = committee.get("/copies").get_json()
    assert [c["id"] for c in mine["items"]] == [row["id"]] and mine["total"] == 1
    read = committee.post(f"/copies/{row['id']}/read")
    assert read.status_code == 200 and read.get_json()["read_at"]
    assert me.post(f"/copies/{row['id']}/read").status_code == 404
    again = me.post(f"/tasks/{task_id}/copies", json={"users": ["committee.hf"], "note": "再次"})
    assert again.status_code == 422
    assert me.get(f"/tasks/{task_id}").get_json()["copies"][0]["id"] == row["id"]


def test_completion_may_copy_and_a_refused_copy_completes_nothing(world: World, login: Any) -> None:
    _case_id, task_id = _register(world)
    me = login("discipline.hf")
    refused = me.post(
        f"/tasks/{task_id}/complete",
        json={"data": {}, "copy_to": {"users": ["discipline.wh"], "note": "知悉"}},
    )
    assert refused.status_code == 422 and "users" in refused.get_json()["errors"]
    assert me.get(f"/tasks/{task_id}").get_json()["state"] == "open"
    done = me.post(
        f"/tasks/{task_id}/complete",
        json={"data": {}, "copy_to": {"users": ["organization.hf"], "note": "已立案，请知悉"}},
    )
    assert done.status_code == 200, done.get_json()
    assert login("organization.hf").get("/copies").get_json()["items"][0]["task_id"] == task_id


def test_the_openapi_document_lists_the_verbs(login: Any) -> None:
    paths = login("discipline.hf").get("/openapi.json").get_json()["paths"]
    for path in (
        "/api/v1/tasks/{task_id}/consultations",
        "/api/v1/tasks/{task_id}/copies",
        "/api/v1/tasks/{task_id}/colleagues",
        "/api/v1/consultations",
        "/api/v1/consultations/{consultation_id}/answer",
        "/api/v1/consultations/{consultation_id}/withdraw",
        "/api/v1/copies",
    ):
        assert path in paths, path
