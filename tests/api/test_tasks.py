"""Task queues, one task with its form, completing it over HTTP."""

from __future__ import annotations

from typing import Any

from tests.conftest import advance_clock
from tests.support.world import World

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def test_role_queue_lists_the_units_tasks_with_case_and_due_marks(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    body = login("discipline.hf").get("/tasks?queue=role").get_json()
    assert body["total"] == 1
    item = body["items"][0]
    assert (item["case_number"], item["subject_name"], item["element"], item["role"]) == (
        case.number,
        "张三",
        "register",
        "discipline",
    )
    assert item["overdue"] is False


def test_another_units_clerk_sees_nothing(world: World, login: Any) -> None:
    world.open("accountability", data=REGISTER)
    assert login("discipline.wh").get("/tasks").get_json()["total"] == 0


def test_task_page_has_form_ui_schema_and_data(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    task = world.task(case, "register")
    body = login("discipline.hf").get(f"/tasks/{task.id}").get_json()
    assert body["may_complete"] is True and body["case_number"] == case.number
    assert body["data"]["facts"] == REGISTER["facts"]
    investigate = None
    world.complete(case, "register", {}, "discipline.hf")
    investigate = world.task(case, "investigate")
    body = login("discipline.hf").get(f"/tasks/{investigate.id}").get_json()
    assert body["form_schema"]["type"] == "object" and body["ui_schema"] is not None
    assert body["due_at"] and body["due_basis"]
    [registered] = body["recorded"]
    assert (
        registered["task_name"] == "立案"
        and {"label": "问题事实", "text": REGISTER["facts"], "key": "facts"}
        in registered["entries"]
    )
    world.complete(
        case,
        "investigate",
        {"findings": "违规拨付属实", "responsibility": "main_leadership"},
        "discipline.hf",
    )
    world.complete(
        case,
        "consider_tolerance",
        {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
        "discipline.hf",
    )
    body = login("committee.hf").get(f"/tasks/{world.task(case, 'decide').id}").get_json()
    [step] = [s for s in body["recorded"] if s["task_name"] == "责任调查"]
    assert step["completed_by"] == "discipline.hf"
    assert {e["label"]: e["text"] for e in step["entries"]} == {
        "调查结论": "违规拨付属实",
        "责任认定": "主要领导责任",
    }


def test_out_of_scope_task_is_404(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    task = world.task(case, "register")
    assert login("discipline.wh").get(f"/tasks/{task.id}").status_code == 404
    assert (
        login("discipline.wh").post(f"/tasks/{task.id}/complete", json={"data": {}}).status_code
        == 404
    )


def test_complete_validates_the_form_and_names_the_field(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    task = world.task(case, "investigate")
    api = login("discipline.hf")
    bad = api.post(f"/tasks/{task.id}/complete", json={"data": {"findings": ""}})
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert bad.get_json()["errors"]
    typed = api.post(f"/tasks/{task.id}/complete", json={"data": {"findings": 42}}).get_json()
    assert typed["errors"]["findings"] == ["应为文字"]  # as the task page words it
    assert world.task(case, "investigate").id == task.id  # nothing stored
    good = api.post(
        f"/tasks/{task.id}/complete",
        json={"data": {"findings": "违规拨付属实", "responsibility": "main_leadership"}},
    )
    assert good.status_code == 200, good.get_json()
    assert good.get_json()["completed_by"] == "discipline.hf"
    again = api.post(
        f"/tasks/{task.id}/complete",
        json={"data": {"findings": "违规拨付属实", "responsibility": "main_leadership"}},
    )
    assert again.status_code == 409
    assert again.get_json()["detail"] == (
        "任务「责任调查」已由discipline hf（合肥市·纪检监察机关）于 2026-03-02 09:00 办结，未能提交"
    )


def test_a_completions_next_tasks_are_named_as_each_task_read_alone(
    world: World, login: Any
) -> None:
    case = world.open("accountability", data=REGISTER)
    api = login("discipline.hf")
    register = world.task(case, "register")
    answer = api.post(f"/tasks/{register.id}/complete", json={"data": {}})
    assert answer.status_code == 200, answer.get_json()
    next_tasks = answer.get_json()["next_tasks"]
    assert {t["element"] for t in next_tasks} == {"consider_tolerance", "investigate"}
    named = ("case_title", "subject_name", "org_unit_name", "process_name", "case_number")
    for task in next_tasks:
        alone = api.get(f"/tasks/{task['id']}").get_json()
        assert {k: task[k] for k in named} == {k: alone[k] for k in named}
        assert task["case_title"] == case.title and case.title and task["process_name"] == "问责"
        assert task["org_unit_name"] and task["subject_name"] == "张三"


def test_wrong_role_may_see_but_not_complete(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    task = world.task(case, "register")
    supervisor = login("supervisor.hf")
    assert supervisor.get(f"/tasks/{task.id}").get_json()["may_complete"] is False
    assert supervisor.post(f"/tasks/{task.id}/complete", json={"data": {}}).status_code == 403


def test_overdue_filter_after_the_deadline(world: World, login: Any, rt: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    api = login("discipline.hf")
    assert api.get("/tasks?overdue=true").get_json()["total"] == 0
    advance_clock(rt, days=50)
    api = login("discipline.hf")
    items = api.get("/tasks?overdue=true").get_json()["items"]
    # both steps due with the investigation, each listed once and still open
    assert sorted(i["element"] for i in items) == ["consider_tolerance", "investigate"]
    assert all(i["overdue"] is True and i["state"] == "open" for i in items)
    basis = {i["element"]: i["due_basis"] for i in items}
    assert basis["investigate"] == "立案之日 2026-03-02 起30个工作日"
    assert basis["consider_tolerance"].startswith("与“责任调查”同时到期：")


def test_done_queue_lists_what_i_completed(world: World, login: Any) -> None:
    case = world.open("accountability", data=REGISTER)
    api = login("discipline.hf")
    task = world.task(case, "register")
    assert api.post(f"/tasks/{task.id}/complete", json={"data": {}}).status_code == 200
    done = api.get("/tasks?queue=done").get_json()["items"]
    assert [d["id"] for d in done] == [task.id] and done[0]["state"] == "completed"


def test_bad_query_parameters_are_named(login: Any, world: World) -> None:
    response = login("discipline.hf").get("/tasks?queue=everything&per_page=5000")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"queue", "per_page"}


def test_every_write_is_audited_with_who_where_and_result(
    world: World, login: Any, rt: Any
) -> None:
    import json

    from sqlalchemy import select

    from workflows.engine.models import AuditEvent

    case = world.open("accountability", data=REGISTER)
    task = world.task(case, "register")
    assert (
        login("supervisor.hf").post(f"/tasks/{task.id}/complete", json={"data": {}}).status_code
        == 403
    )
    assert (
        login("discipline.hf").post(f"/tasks/{task.id}/complete", json={"data": {}}).status_code
        == 200
    )
    with rt.db.reading() as session:
        rows = {
            row.action: row
            for row in session.execute(
                select(AuditEvent).where(AuditEvent.action.in_(["task.complete", "api.refused"]))
            ).scalars()
        }
    done = json.loads(rows["task.complete"].detail)
    assert rows["task.complete"].actor == "discipline.hf" and rows[
        "task.complete"
    ].object_id == str(task.id)
    assert done["by"] == {"role": "discipline", "org_unit": "ah-hf", "ip": "127.0.0.1"}
    assert done["result"] == "ok"
    refused = json.loads(rows["api.refused"].detail)
    assert rows["api.refused"].actor == "supervisor.hf"
    assert refused["result"] == "403 forbidden" and refused["by"]["role"] == "supervisor"
    assert rows["api.refused"].object_id == f"POST /api/v1/tasks/{task.id}/complete"


def test_queue_pages_join_up_in_order_with_the_total(world: World, login: Any) -> None:
    cases = [world.open("accountability", data=REGISTER) for _ in range(5)]
    api = login("discipline.hf")
    whole = api.get("/tasks?queue=role&per_page=50").get_json()
    assert whole["total"] == 5
    pages = [api.get(f"/tasks?queue=role&per_page=2&page={n}").get_json() for n in (1, 2, 3)]
    assert [p["total"] for p in pages] == [5, 5, 5]
    assert [i for p in pages for i in p["items"]] == whole["items"]
    assert {i["case_number"] for i in whole["items"]} == {c.number for c in cases}
    found = api.get(f"/tasks?queue=role&per_page=1&q={cases[3].number}").get_json()
    assert found["total"] == 1 and found["items"][0]["case_number"] == cases[3].number
    for case in cases[:3]:
        world.complete(case, "register", {}, "discipline.hf")
    done = api.get("/tasks?queue=done&per_page=2&page=2").get_json()
    assert done["total"] == 3 and [i["case_number"] for i in done["items"]] == [cases[0].number]
    now_open = api.get("/tasks?queue=role&per_page=50").get_json()["total"]
    assert now_open > 2  # the completed registrations opened the investigation's tasks
    assert api.get("/tasks?queue=role&per_page=2&page=9").get_json() == {
        "items": [],
        "page": 9,
        "per_page": 2,
        "total": now_open,
    }
