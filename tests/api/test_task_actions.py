"""Claim, unclaim, delegate (委派), transfer (转办), urge (催办) and comments over HTTP."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.conftest import set_clock
from tests.support import HASHER
from tests.support.world import World
from workflows.engine.models import AuditEvent
from workflows.org import service as org
from workflows.runtime import Runtime
from workflows.tasks.models import Notification

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _register_task(world: World) -> int:
    return world.task(world.open("accountability", data=REGISTER), "register").id


def _audit(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            ).scalars()
        )


def _notices(rt: Runtime, username: str, kind: str | None = None) -> list[Notification]:
    with rt.db.reading() as session:
        query = select(Notification).where(Notification.username == username)
        if kind:
            query = query.where(Notification.kind == kind)
        return list(session.execute(query.order_by(Notification.id)).scalars())


def test_claim_moves_the_task_to_my_queue_and_others_meet_a_conflict(
    world: World, login: Any, rt: Runtime
) -> None:
    task_id = _register_task(world)
    me, colleague = login("discipline.hf"), login("discipline2.hf")
    claimed = me.post(f"/tasks/{task_id}/claim")
    assert claimed.status_code == 200, claimed.get_json()
    assert claimed.get_json()["assignee"] == "discipline.hf" and claimed.get_json()["case_number"]
    assert [t["id"] for t in me.get("/tasks?queue=mine").get_json()["items"]] == [task_id]
    assert (
        me.post(f"/tasks/{task_id}/claim").status_code == 200
    )  # claiming my own again changes nothing
    taken = colleague.post(f"/tasks/{task_id}/claim")
    assert taken.status_code == 409 and "discipline hf（合肥市·纪检监察机关）" in taken.get_json()["detail"]
    assert colleague.post(f"/tasks/{task_id}/complete", json={"data": {}}).status_code == 403
    rows = _audit(rt, "task.claim")
    assert len(rows) == 1 and rows[0].actor == "discipline.hf" and rows[0].instance_id is not None
    assert rows[0].object_id == str(task_id)


def test_claim_out_of_scope_is_404_and_wrong_role_is_403(world: World, login: Any) -> None:
    task_id = _register_task(world)
    assert login("discipline.wh").post(f"/tasks/{task_id}/claim").status_code == 404
    assert login("supervisor.hf").post(f"/tasks/{task_id}/claim").status_code == 403
    assert login("organization.hf").post(f"/tasks/{task_id}/claim").status_code == 403
    assert login("discipline.hf").post("/tasks/999999/claim").status_code == 404


def test_unclaim_by_the_assignee_only(world: World, login: Any, rt: Runtime) -> None:
    task_id = _register_task(world)
    me, colleague = login("discipline.hf"), login("discipline2.hf")
    assert me.post(f"/tasks/{task_id}/unclaim").status_code == 409  # nobody holds it
    me.post(f"/tasks/{task_id}/claim")
    assert colleague.post(f"/tasks/{task_id}/unclaim").status_code == 403
    released = me.post(f"/tasks/{task_id}/unclaim")
    assert released.status_code == 200 and released.get_json()["assignee"] is None
    assert colleague.post(f"/tasks/{task_id}/claim").get_json()["assignee"] == "discipline2.hf"
    assert [r.actor for r in _audit(rt, "task.unclaim")] == ["discipline.hf"]


def test_delegate_keeps_me_as_owner_and_tells_the_colleague(
    world: World, login: Any, rt: Runtime
) -> None:
    task_id = _register_task(world)
    me, colleague = login("discipline.hf"), login("discipline2.hf")
    me.post(f"/tasks/{task_id}/claim")
    delegated = me.post(f"/tasks/{task_id}/delegate", json={"username": "discipline2.hf"})
    assert delegated.status_code == 200, delegated.get_json()
    body = delegated.get_json()
    assert (body["assignee"], body["owner"]) == ("discipline2.hf", "discipline.hf")
    assert [n.task_id for n in _notices(rt, "discipline2.hf", "assigned")] == [task_id]
    assert me.post(f"/tasks/{task_id}/complete", json={"data": {}}).status_code == 403
    assert [t["id"] for t in me.get("/tasks?queue=role").get_json()["items"]] == [
        task_id
    ]  # owner still sees it
    taken_back = me.post(f"/tasks/{task_id}/unclaim").get_json()
    assert (taken_back["assignee"], taken_back["owner"]) == (None, None)
    me.post(f"/tasks/{task_id}/delegate", json={"username": "discipline2.hf"})
    assert colleague.post(f"/tasks/{task_id}/complete", json={"data": {}}).status_code == 200
    row = _audit(rt, "task.delegate")[0]
    assert row.instance_id is not None and json.loads(row.detail)["assignee"] == "discipline2.hf"


def test_transfer_hands_the_task_over_outright(world: World, login: Any, rt: Runtime) -> None:
    task_id = _register_task(world)
    me = login("discipline.hf")
    moved = me.post(f"/tasks/{task_id}/transfer", json={"username": "discipline2.hf"})
    assert moved.status_code == 200, moved.get_json()
    assert (moved.get_json()["assignee"], moved.get_json()["owner"]) == ("discipline2.hf", None)
    assert me.post(f"/tasks/{task_id}/unclaim").status_code == 403  # no longer mine in any way
    assert (
        me.post(f"/tasks/{task_id}/transfer", json={"username": "discipline.hf"}).status_code == 403
    )
    assert len(_notices(rt, "discipline2.hf", "assigned")) == 1
    assert len(_audit(rt, "task.transfer")) == 1


def test_ineligible_targets_are_refused_on_username(world: World, login: Any, rt: Runtime) -> None:
    task_id = _register_task(world)
    with rt.db.transaction() as session:  # an official who is also the case's cadre (回避)
        org.add_user(
            session,
            hasher=HASHER,
            username="discipline3.hf",
            display_name="当事人兼审查员",
            password="demo-pass-1",
            role="discipline",
            org_unit_code="ah-hf",
            clock=rt.clock,
            cadre_id=world.cadres["zhang"],
        )
    me = login("discipline.hf")
    for verb in ("delegate", "transfer"):
        for username, says in (
            ("discipline.hf", "自己"),
            ("discipline.wh", "ah-hf"),
            ("organization.hf", "办理"),
            ("nobody", "不存在"),
            ("discipline3.hf", "回避"),
        ):
            refused = me.post(f"/tasks/{task_id}/{verb}", json={"username": username})
            assert refused.status_code == 422, (verb, username, refused.get_json())
            assert says in refused.get_json()["errors"]["username"][0], refused.get_json()
        missing = me.post(f"/tasks/{task_id}/{verb}", json={})
        assert missing.status_code == 422 and set(missing.get_json()["errors"]) == {"username"}
    assert (
        login("discipline.wh")
        .post(f"/tasks/{task_id}/delegate", json={"username": "discipline2.hf"})
        .status_code
        == 404
    )
    assert (
        login("supervisor.hf")
        .post(f"/tasks/{task_id}/transfer", json={"username": "discipline2.hf"})
        .status_code
        == 403
    )
    assert _audit(rt, "task.delegate") == [] and _audit(rt, "task.transfer") == []


def test_process_named_reviewer_cannot_be_replaced(world: World, login: Any, rt: Runtime) -> None:
    _original, case = world.accepted_appeal()
    review = world.task(case, "review")
    assert review.assignee == "discipline2.hf"
    reviewer = login("discipline2.hf")
    assert (
        reviewer.post(
            f"/tasks/{review.id}/transfer", json={"username": "discipline.hf"}
        ).status_code
        == 403
    )
    assert reviewer.post(f"/tasks/{review.id}/unclaim").status_code == 403
    conflicted = login("discipline.hf").post(
        f"/tasks/{review.id}/claim"
    )  # handled the original case
    assert conflicted.status_code == 403 and "回避" in conflicted.get_json()["detail"]


def test_urge_by_a_supervisor_is_recorded_and_notified(
    world: World, login: Any, rt: Runtime
) -> None:
    task_id = _register_task(world)
    supervisor = login("supervisor.hf")
    urged = supervisor.post(f"/tasks/{task_id}/urge", json={"note": "请于本周内立案"})
    assert urged.status_code == 201, urged.get_json()
    assert (urged.get_json()["urged_by"], urged.get_json()["note"]) == (
        "supervisor.hf",
        "请于本周内立案",
    )
    listed = login("discipline.hf").get(f"/tasks/{task_id}/urges").get_json()
    assert [u["note"] for u in listed] == ["请于本周内立案"]
    # nobody holds the task: everyone of its role in its unit is told
    assert {n.username for n in _notices_of_kind(rt, "urged")} == {
        "discipline.hf",
        "discipline2.hf",
    }
    login("discipline.hf").post(f"/tasks/{task_id}/claim")
    supervisor.post(f"/tasks/{task_id}/urge", json={"note": "再次催办"})
    assert [n.body.endswith("再次催办") for n in _notices(rt, "discipline.hf", "urged")] == [
        False,
        True,
    ]
    assert len(_notices(rt, "discipline2.hf", "urged")) == 1
    rows = _audit(rt, "task.urge")
    assert len(rows) == 2 and all(r.instance_id is not None for r in rows)


def _notices_of_kind(rt: Runtime, kind: str) -> list[Notification]:
    with rt.db.reading() as session:
        return list(
            session.execute(select(Notification).where(Notification.kind == kind)).scalars()
        )


def test_urge_is_for_supervisors_with_a_note(world: World, login: Any) -> None:
    task_id = _register_task(world)
    assert (
        login("discipline.hf").post(f"/tasks/{task_id}/urge", json={"note": "快"}).status_code
        == 403
    )
    assert (
        login("supervisor.wh").post(f"/tasks/{task_id}/urge", json={"note": "快"}).status_code
        == 404
    )
    supervisor = login("supervisor.hf")
    for body in ({}, {"note": ""}, {"note": "长" * 1001}):
        refused = supervisor.post(f"/tasks/{task_id}/urge", json=body)
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"note"}, body
    blank = supervisor.post(f"/tasks/{task_id}/urge", json={"note": "   "})
    assert blank.status_code == 422 and set(blank.get_json()["errors"]) == {"note"}
    assert supervisor.get(f"/tasks/{task_id}/urges").get_json() == []


def test_escalation_of_overdue_work_tells_the_committee_and_the_supervisors_above(
    world: World, login: Any, rt: Runtime
) -> None:
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    task_id = world.task(case, "investigate").id
    supervisor = login("supervisor.hf")
    early = supervisor.post(f"/tasks/{task_id}/escalate", json={"note": "请抓紧"})
    assert early.status_code == 409 and "尚未逾期" in early.get_json()["detail"]
    set_clock(rt, "2026-04-20 09:00")  # the investigation was due 2026-04-15
    supervisor = login("supervisor.hf")  # days later: a new session
    for body in ({}, {"note": " "}, {"note": "长" * 1000}):
        refused = supervisor.post(f"/tasks/{task_id}/escalate", json=body)
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"note"}, body
    assert (
        login("discipline.hf").post(f"/tasks/{task_id}/escalate", json={"note": "x"}).status_code
        == 403
    )
    assert (
        login("supervisor.wh").post(f"/tasks/{task_id}/escalate", json={"note": "x"}).status_code
        == 404
    )
    done = supervisor.post(f"/tasks/{task_id}/escalate", json={"note": "逾期未报，督办"})
    assert done.status_code == 201, done.get_json()
    body = done.get_json()
    assert body["urge"]["note"] == "【督办上报】逾期未报，督办"
    assert {"discipline.hf", "discipline2.hf", "committee.hf"} <= set(body["notified"])
    assert "supervisor.hf" not in body["notified"]
    assert set(body["notified"]) == {n.username for n in _notices_of_kind(rt, "urged")}
    [row] = _audit(rt, "task.escalate")
    assert json.loads(row.detail)["committee"] == ["committee.hf"]


def test_comments_by_anyone_who_sees_the_task(world: World, login: Any, rt: Runtime) -> None:
    case = world.open("accountability", data=REGISTER)
    task_id = world.task(case, "register").id
    added = login("supervisor.hf").post(
        f"/tasks/{task_id}/comments", json={"body": "注意核实证据来源"}
    )
    assert added.status_code == 201, added.get_json()
    login("discipline.hf").post(f"/tasks/{task_id}/comments", json={"body": "已核实"})
    listed = login("discipline.hf").get(f"/tasks/{task_id}/comments").get_json()
    assert [(c["author"], c["body"]) for c in listed] == [
        ("supervisor.hf", "注意核实证据来源"),
        ("discipline.hf", "已核实"),
    ]
    assert login("discipline.wh").get(f"/tasks/{task_id}/comments").status_code == 404
    assert (
        login("discipline.wh").post(f"/tasks/{task_id}/comments", json={"body": "x"}).status_code
        == 404
    )
    for body in ({}, {"body": ""}, {"body": "字" * 2001}, {"body": "  "}):
        refused = login("discipline.hf").post(f"/tasks/{task_id}/comments", json=body)
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"body"}, body
    rows = _audit(rt, "task.comment")
    assert [r.actor for r in rows] == ["supervisor.hf", "discipline.hf"] and rows[0].instance_id
    world.complete(case, "register", {}, "discipline.hf")
    assert (
        login("discipline.hf").post(f"/tasks/{task_id}/comments", json={"body": "晚了"}).status_code
        == 409
    )
    assert len(login("discipline.hf").get(f"/tasks/{task_id}/comments").get_json()) == 2


def test_actions_on_a_completed_task_are_conflicts(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    task_id = world.task(case, "register").id
    world.complete(case, "register", {}, "discipline.hf")
    me = login("discipline.hf")
    assert me.post(f"/tasks/{task_id}/claim").status_code == 409
    assert (
        me.post(f"/tasks/{task_id}/transfer", json={"username": "discipline2.hf"}).status_code
        == 409
    )
    assert (
        login("supervisor.hf").post(f"/tasks/{task_id}/urge", json={"note": "快"}).status_code
        == 409
    )
