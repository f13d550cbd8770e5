"""People by name over HTTP (DOMAIN.md §6): 姓名 and 职务 edited by administrators, labels
(`<field>_name`: 姓名（单位·岗位）) beside every username a body carries, and the candidates
endpoint that pickers choose from."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from tests.support import HASHER
from tests.support.world import World
from workflows.engine.models import AuditEvent
from workflows.org import service as org
from workflows.runtime import Runtime

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
ME = "discipline hf（合肥市·纪检监察机关）"
COLLEAGUE = "第二审查员（合肥市·纪检监察机关）"


def _register_task(world: World) -> int:
    return world.task(world.open("accountability", data=REGISTER), "register").id


def _last_audit(rt: Runtime, action: str) -> dict[str, Any]:
    with rt.db.reading() as session:
        row = (
            session.execute(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id.desc())
            )
            .scalars()
            .first()
        )
    assert row is not None
    return dict(json.loads(row.detail))


# -- 姓名 and 职务 ----------------------------------------------------------------------------


def test_admin_sets_name_and_post_and_the_label_follows(login: Any, rt: Runtime) -> None:
    admin = login("admin.hf")
    created = admin.post(
        "/admin/users",
        json={
            "username": "wang.hf",
            "display_name": " 王建国 ",
            "post": "第一纪检监察室主任",
            "password": "long-enough-1",
            "role": "discipline",
            "org_unit": "ah-hf",
        },
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["display_name"], body["post"]) == ("王建国", "第一纪检监察室主任")
    assert body["label"] == "王建国（合肥市·第一纪检监察室主任）"
    assert _last_audit(rt, "admin.user.create")["post"] == "第一纪检监察室主任"

    response = admin.client.patch(
        "/api/v1/admin/users/wang.hf",
        json={"display_name": "王建军", "post": "第二纪检监察室主任"},
        headers={"X-CSRF-Token": admin.csrf},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["label"] == "王建军（合肥市·第二纪检监察室主任）"
    # audited with the values before and after
    assert _last_audit(rt, "admin.user.update")["changes"] == {
        "display_name": {"from": "王建国", "to": "王建军"},
        "post": {"from": "第一纪检监察室主任", "to": "第二纪检监察室主任"},
    }
    cleared = admin.client.patch(
        "/api/v1/admin/users/wang.hf", json={"post": None}, headers={"X-CSRF-Token": admin.csrf}
    )
    assert cleared.get_json()["post"] is None
    assert cleared.get_json()["label"] == "王建军（合肥市·纪检监察机关）"  # the role stands in
    listed = {u["username"]: u for u in admin.get("/admin/users").get_json()}
    assert listed["wang.hf"]["label"] == "王建军（合肥市·纪检监察机关）"


def test_bad_names_and_posts_are_refused_naming_the_field(login: Any, rt: Runtime) -> None:
    admin = login("admin.hf")
    base = {
        "username": "new.hf",
        "password": "long-enough-1",
        "role": "discipline",
        "org_unit": "ah-hf",
    }
    for body, field, message in (
        ({**base, "display_name": ""}, "display_name", "姓名应为 1 到 50 个字"),
        ({**base, "display_name": "名" * 51}, "display_name", "姓名应为 1 到 50 个字"),
        ({**base, "display_name": "   "}, "display_name", "姓名应为 1 到 50 个字"),
        ({**base, "display_name": "李四", "post": "职" * 101}, "post", "职务不能超过 100 个字"),
        ({key: v for key, v in base.items()}, "display_name", None),  # missing
    ):
        refused = admin.post("/admin/users", json=body)
        assert refused.status_code == 422, body
        errors = refused.get_json()["errors"]
        assert field in errors, errors
        if message:
            assert errors[field] == [message]
    with rt.db.reading() as session:
        assert (
            session.execute(select(org.User).where(org.User.username == "new.hf")).first() is None
        )
    for patch, field in (({"display_name": ""}, "display_name"), ({"post": "职" * 101}, "post")):
        response = admin.client.patch(
            "/api/v1/admin/users/discipline.hf", json=patch, headers={"X-CSRF-Token": admin.csrf}
        )
        assert response.status_code == 422 and field in response.get_json()["errors"]
    assert admin.get("/admin/users").get_json()  # nothing half-written
    with rt.db.reading() as session:
        user = org.user_by_name(session, "discipline.hf")
        assert (user.display_name, user.post) == ("discipline hf", None)


# -- labels beside usernames ------------------------------------------------------------------


def test_queues_task_case_and_audit_name_people(world: World, login: Any) -> None:
    task_id = _register_task(world)
    me = login("discipline.hf")
    assert (
        me.post(f"/tasks/{task_id}/delegate", json={"username": "discipline2.hf"}).status_code
        == 200
    )
    colleague = login("discipline2.hf")
    [item] = colleague.get("/tasks?queue=mine").get_json()["items"]
    assert (item["assignee"], item["assignee_name"]) == ("discipline2.hf", COLLEAGUE)
    assert (item["owner"], item["owner_name"]) == ("discipline.hf", ME)
    comment = colleague.post(f"/tasks/{task_id}/comments", json={"body": "收到"}).get_json()
    assert (comment["author"], comment["author_name"]) == ("discipline2.hf", COLLEAGUE)
    done = colleague.post(f"/tasks/{task_id}/complete", json={"data": {}})
    assert done.get_json()["completed_by_name"] == COLLEAGUE
    [finished] = colleague.get("/tasks?queue=done").get_json()["items"]
    assert finished["completed_by_name"] == COLLEAGUE
    case = me.get(f"/cases/{finished['case_id']}").get_json()
    assert case["opened_by_name"] == ME
    by_action = {e["action"]: e for e in case["timeline"]}
    assert by_action["task.delegate"]["actor_name"] == ME
    assert by_action["task.complete"]["actor_name"] == COLLEAGUE
    next_task = next(t for t in case["tasks"] if t["element"] == "investigate")
    assert next_task["assignee"] is None and next_task["assignee_name"] is None
    audit = login("admin.hf").get("/admin/audit?action=task.delegate").get_json()["items"]
    assert audit[0]["actor"] == "discipline.hf" and audit[0]["actor_name"] == ME


def test_urges_name_the_supervisor(world: World, login: Any) -> None:
    task_id = _register_task(world)
    urged = login("supervisor.hf").post(f"/tasks/{task_id}/urge", json={"note": "请抓紧"})
    assert urged.status_code == 201
    assert urged.get_json()["urged_by_name"] == "supervisor hf（合肥市·督查）"
    [shown] = login("discipline.hf").get(f"/tasks/{task_id}/urges").get_json()
    assert shown["urged_by_name"] == "supervisor hf（合肥市·督查）"


# -- candidates -------------------------------------------------------------------------------


def _add(rt: Runtime, username: str, name: str, **extra: Any) -> None:
    with rt.db.transaction() as session:
        org.add_user(
            session,
            username=username,
            display_name=name,
            password="demo-pass-1",
            clock=rt.clock,
            hasher=HASHER,
            **{"role": "discipline", "org_unit_code": "ah-hf", **extra},
        )


def test_candidates_by_eligibility_and_search(world: World, login: Any, rt: Runtime) -> None:
    task_id = _register_task(world)
    _add(rt, "zhao.hf", "赵六", post="第二纪检监察室副主任")
    _add(rt, "zhang.discipline", "张三（兼）", cadre_id=world.cadres["zhang"])  # the cadre: recused
    me = login("discipline.hf")
    listed = me.get(f"/tasks/{task_id}/candidates?purpose=delegate")
    assert listed.status_code == 200, listed.get_json()
    assert listed.get_json() == [
        {"username": "discipline2.hf", "name": "第二审查员", "label": COLLEAGUE},
        {"username": "zhao.hf", "name": "赵六", "label": "赵六（合肥市·第二纪检监察室副主任）"},
    ]
    assert [
        p["username"]
        for p in me.get(
            f"/tasks/{task_id}/candidates", query_string={"purpose": "transfer", "q": "赵"}
        ).get_json()
    ] == ["zhao.hf"]
    assert (
        me.get(f"/tasks/{task_id}/candidates?purpose=transfer&q=zhao").get_json()[0]["username"]
        == "zhao.hf"
    )
    # the write takes the username; one not listed is refused naming the field
    refused = me.post(f"/tasks/{task_id}/delegate", json={"username": "zhang.discipline"})
    assert refused.status_code == 422 and "username" in refused.get_json()["errors"]
    assert "回避" in refused.get_json()["errors"]["username"][0]
    assert me.post(f"/tasks/{task_id}/transfer", json={"username": "zhao.hf"}).status_code == 200


def test_candidates_refusals(world: World, login: Any) -> None:
    task_id = _register_task(world)
    assert (
        login("discipline.wh").get(f"/tasks/{task_id}/candidates?purpose=delegate").status_code
        == 404
    )
    assert (
        login("discipline.hf").get("/tasks/999999/candidates?purpose=delegate").status_code == 404
    )
    supervisor = login("supervisor.hf").get(f"/tasks/{task_id}/candidates?purpose=delegate")
    assert supervisor.status_code == 403
    me = login("discipline.hf")
    for query in ("", "?purpose=everyone", "?purpose=reviewer"):
        response = me.get(f"/tasks/{task_id}/candidates{query}")
        assert response.status_code == 422 and "purpose" in response.get_json()["errors"], query


def test_reviewer_candidates_on_an_appeals_acceptance(
    world: World, login: Any, rt: Runtime
) -> None:
    original = world.decided_accountability()
    zhang = login("zhang")
    appeal = zhang.post(f"/cases/{original.id}/appeals", json={"grounds": "处理过重"}).get_json()
    _add(rt, "organization2.hf", "钱七", role="organization")
    clerk = login("organization2.hf")
    [accept] = clerk.get(f"/cases/{appeal['id']}").get_json()["tasks"]
    listed = clerk.get(f"/tasks/{accept['id']}/candidates?purpose=reviewer").get_json()
    assert [p["username"] for p in listed] == ["discipline2.hf"]  # discipline.hf: 回避
    # organization.hf served the original decision: recused, so not theirs to choose
    assert (
        login("organization.hf")
        .get(f"/tasks/{accept['id']}/candidates?purpose=reviewer")
        .status_code
        == 403
    )
    done = clerk.post(
        f"/tasks/{accept['id']}/complete",
        json={"data": {"reviewer": "discipline2.hf", "accepted_on": world.today().isoformat()}},
    )
    assert done.status_code == 200, done.get_json()
    case = clerk.get(f"/cases/{appeal['id']}").get_json()
    [open_review] = case["tasks"]
    assert open_review["assignee_name"] == COLLEAGUE
