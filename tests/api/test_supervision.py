"""督查 over HTTP: counts by unit, process and role; the overdue list with escalations and urges."""

from __future__ import annotations

from typing import Any

from tests.conftest import at, set_clock
from tests.support.world import World
from workflows.cases.models import CaseFile
from workflows.engine import timers
from workflows.runtime import Runtime
from workflows.tasks.models import TaskUrge

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _registered(world: World, cadre: str = "zhang") -> CaseFile:
    case = world.open("accountability", cadre=cadre, data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    return case  # investigate is due 2026-04-15 00:00 (30 working days after 2026-03-02)


def _urge(rt: Runtime, task_id: int, instance_id: int, by: str, moment: str) -> None:
    with rt.db.transaction() as session:
        session.add(
            TaskUrge(
                task_id=task_id,
                instance_id=instance_id,
                urged_by=by,
                note="请抓紧办理",
                created_at=at(moment),
            )
        )


def _row(counts: list[dict[str, Any]], key: str) -> tuple[int, int, int]:
    found = [c for c in counts if c["key"] == key]
    return (found[0]["open"], found[0]["due_soon"], found[0]["overdue"]) if found else (0, 0, 0)


def test_summary_counts_open_due_soon_and_overdue_by_unit_process_and_role(
    world: World, login: Any, rt: Runtime
) -> None:
    case = _registered(world)
    world.open("accountability", cadre="li", data=REGISTER)  # 肥东县: register is open, undated
    open_hf = len(world.tasks(case))
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert body["total"]["open"] == open_hf + 1 and body["total"]["overdue"] == 0
    assert _row(body["by_org_unit"], "ah-hf-fd") == (1, 0, 0)
    assert {c["key"]: c["name"] for c in body["by_org_unit"]}["ah-hf"] == "合肥市"
    assert {c["key"]: c["name"] for c in body["by_process"]}["accountability"] == "问责"
    assert {c["key"]: c["name"] for c in body["by_role"]}["discipline"] == "纪检监察机关"

    set_clock(rt, "2026-04-13 09:00")  # Monday: due by the end of Wednesday counts as due soon
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert body["total"]["due_soon"] >= 1 and body["total"]["overdue"] == 0

    set_clock(rt, "2026-04-15 09:00")  # past due; the timer has not fired yet
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert body["total"]["overdue"] == 1 and _row(body["by_role"], "discipline")[2] == 1
    oldest = body["oldest_overdue"]
    assert [
        (o["element"], o["case_number"], o["subject_name"], o["days_overdue"], o["escalation"])
        for o in oldest
    ] == [("investigate", case.number, "张三", 1, False)]


def test_a_fired_deadline_counts_as_overdue_through_its_escalation(
    world: World, login: Any, rt: Runtime
) -> None:
    case = _registered(world)
    set_clock(rt, "2026-04-15 09:00")
    timers.sweep(rt.db, clock=rt.clock)  # investigate is cancelled, 督办 goes to the supervisor
    assert "investigate" not in {t.task_spec for t in world.tasks(case)}
    set_clock(rt, "2026-04-17 10:00")
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert body["total"]["overdue"] == 1 and _row(body["by_role"], "supervisor")[2] == 1
    overdue = login("supervisor.hf").get("/supervision/overdue").get_json()
    assert overdue["total"] == 1
    item = overdue["items"][0]
    assert (
        item["element"],
        item["escalation"],
        item["role"],
        item["org_unit_name"],
        item["due_at"],
    ) == ("escalate", True, "supervisor", "合肥市", None)
    assert item["days_overdue"] == 3 and item["process_name"] == "问责"


def test_overdue_list_shows_case_cadre_assignee_and_urges(
    world: World, login: Any, rt: Runtime
) -> None:
    case = _registered(world)
    set_clock(rt, "2026-04-20 09:00")  # six days past due, before any sweep
    task = world.task(case, "investigate")
    _urge(rt, task.id, case.instance_id or 0, "supervisor.hf", "2026-04-16 10:00")
    _urge(rt, task.id, case.instance_id or 0, "supervisor.hf", "2026-04-18 10:00")
    body = login("supervisor.hf").get("/supervision/overdue").get_json()
    items = {i["element"]: i for i in body["items"]}
    item = items["investigate"]
    assert (item["case_id"], item["case_number"], item["cadre_id"], item["subject_name"]) == (
        case.id,
        case.number,
        world.cadres["zhang"],
        "张三",
    )
    assert (item["task_id"], item["role_name"], item["org_unit"], item["days_overdue"]) == (
        task.id,
        "纪检监察机关",
        "ah-hf",
        6,
    )
    assert item["urge_count"] == 2 and item["last_urged_by"] == "supervisor.hf"
    assert item["last_urged_at"].startswith("2026-04-18")


def test_overdue_filters_and_scope(world: World, login: Any, rt: Runtime) -> None:
    _registered(world)
    _registered(world, cadre="li")  # 肥东县 is below 合肥市
    set_clock(rt, "2026-04-20 09:00")
    api = login("supervisor.hf")
    assert api.get("/supervision/overdue").get_json()["total"] == 2
    county = api.get("/supervision/overdue?org_unit=ah-hf-fd").get_json()
    assert [i["subject_name"] for i in county["items"]] == ["李四"]
    assert api.get("/supervision/overdue?role=committee").get_json()["total"] == 0
    assert api.get("/supervision/overdue?process=appeal").get_json()["total"] == 0
    assert api.get("/supervision/overdue?org_unit=ah-wh").get_json()["total"] == 0  # not theirs
    page = api.get("/supervision/overdue?per_page=1&page=2").get_json()
    assert (page["total"], len(page["items"])) == (2, 1)
    # 芜湖市's supervisor sees nothing of 合肥市; the admin of 合肥市 sees it too
    assert login("supervisor.wh").get("/supervision/overdue").get_json()["total"] == 0
    assert login("supervisor.wh").get("/supervision/summary").get_json()["total"]["open"] == 0
    assert login("admin.hf").get("/supervision/overdue").get_json()["total"] == 2


def test_only_supervisors_and_admins(world: World, login: Any) -> None:
    for user in ("discipline.hf", "committee.hf", "designer.hf", "zhang"):
        api = login(user)
        assert api.get("/supervision/summary").status_code == 403
        refused = api.get("/supervision/overdue")
        assert refused.status_code == 403 and refused.get_json()["code"] == "forbidden"


def test_bad_filters_are_named(world: World, login: Any) -> None:
    response = login("supervisor.hf").get("/supervision/overdue?role=nobody&per_page=0")
    assert response.status_code == 422
    assert set(response.get_json()["errors"]) == {"role", "per_page"}
