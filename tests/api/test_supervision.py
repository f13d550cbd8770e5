"""督查 over HTTP: counts by unit, process and role; the overdue list, one row per overdue step
with its holder, due date and basis, working days overdue, urges and escalations."""

from __future__ import annotations

from typing import Any

from tests.conftest import at, set_clock
from tests.support.world import World
from workflows.cases.models import CaseFile
from workflows.engine import timers
from workflows.runtime import Runtime
from workflows.tasks import deadlines
from workflows.tasks.models import TaskUrge

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _registered(world: World, cadre: str = "zhang", *, considered: bool = True) -> CaseFile:
    """A case whose investigation is due 2026-04-15 00:00 (30 working days after 2026-03-02);
    with `considered`, the tolerance consideration (due with it) is done."""
    case = world.open("accountability", cadre=cadre, data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    if considered:
        world.complete(
            case,
            "consider_tolerance",
            {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
            "discipline.hf",
        )
    return case


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
    case = _registered(world, considered=False)  # investigate and consider_tolerance, due together
    fd = world.open("accountability", cadre="li", data=REGISTER)  # 肥东县: register, due 03-09
    assert world.task(fd, "register").due_at == at("2026-03-10 00:00")
    open_hf = len(world.tasks(case))
    assert open_hf == 2
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert body["total"]["open"] == open_hf + 1 and body["total"]["overdue"] == 0
    assert _row(body["by_org_unit"], "ah-hf-fd") == (1, 0, 0)
    assert {c["key"]: c["name"] for c in body["by_org_unit"]}["ah-hf"] == "合肥市"
    assert {c["key"]: c["name"] for c in body["by_process"]}["accountability"] == "问责"
    assert {c["key"]: c["name"] for c in body["by_role"]}["discipline"] == "纪检监察机关"

    set_clock(rt, "2026-03-06 09:00")  # Friday: register is due by the end of Monday 03-09
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert _row(body["by_org_unit"], "ah-hf-fd") == (1, 1, 0) and body["total"]["overdue"] == 0

    world.complete(fd, "register", {"registered_on": "2026-03-06"}, "discipline.hf")  # in time
    world.complete(
        fd,
        "consider_tolerance",
        {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
        "discipline.hf",
    )
    set_clock(rt, "2026-04-13 09:00")  # Monday: due by the end of Tuesday 04-14 is due soon
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert _row(body["by_org_unit"], "ah-hf") == (2, 2, 0)
    assert body["total"]["overdue"] == 0

    set_clock(rt, "2026-04-15 09:00")  # past due; the steps stay with their holders
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert body["total"]["overdue"] == 2
    assert _row(body["by_role"], "discipline")[2] == 2
    assert _row(body["by_org_unit"], "ah-hf") == (2, 0, 2)
    oldest = body["oldest_overdue"]
    assert sorted(
        (o["element"], o["case_number"], o["subject_name"], o["days_overdue"], o["escalation"])
        for o in oldest
    ) == [
        ("consider_tolerance", case.number, "张三", 1, False),
        ("investigate", case.number, "张三", 1, False),
    ]


def test_a_step_past_its_limit_stays_with_its_holder_and_is_listed_once(
    world: World, login: Any, rt: Runtime
) -> None:
    """No timer takes the investigation away: after the sweeps it is still the clerk's, one
    row with its original due date and basis, its holder by name and its working days late."""
    case = _registered(world)
    task = world.task(case, "investigate")
    assert login("discipline.hf").post(f"/tasks/{task.id}/claim").status_code == 200
    set_clock(rt, "2026-04-15 09:00")
    timers.sweep(rt.db, clock=rt.clock)
    deadlines.sweep(rt.db, clock=rt.clock)
    assert [t.task_spec for t in world.tasks(case)] == ["investigate"]
    set_clock(rt, "2026-04-17 10:00")
    deadlines.sweep(rt.db, clock=rt.clock)
    body = login("supervisor.hf").get("/supervision/summary").get_json()
    assert body["total"]["overdue"] == 1 and _row(body["by_role"], "discipline")[2] == 1
    assert _row(body["by_role"], "supervisor") == (0, 0, 0)
    overdue = login("supervisor.hf").get("/supervision/overdue").get_json()
    assert overdue["total"] == 1
    [item] = overdue["items"]
    assert (
        item["task_id"],
        item["element"],
        item["escalation"],
        item["role"],
        item["org_unit_name"],
        item["assignee"],
    ) == (task.id, "investigate", False, "discipline", "合肥市", "discipline.hf")
    assert item["assignee_name"].startswith("discipline hf")  # the holder by name
    assert item["due_at"].startswith("2026-04-14T16:00")  # 2026-04-15 00:00 in Shanghai
    assert item["due_basis"] == "立案之日 2026-03-02 起30个工作日"
    assert (item["days_overdue"], item["workdays_overdue"]) == (3, 3)
    assert (item["supervision_due_at"], item["supervision_overdue"]) == (None, False)
    assert item["process_name"] == "问责"


def test_escalation_with_a_supervision_deadline_over_http(
    world: World, login: Any, rt: Runtime
) -> None:
    """督办上报 with a 督办期限: shown in the list beside the original due date, refused
    before today naming the field, and overdue once it passes."""
    case = _registered(world)
    task = world.task(case, "investigate")
    set_clock(rt, "2026-04-20 09:00")
    api = login("supervisor.hf")
    refused = api.post(
        f"/tasks/{task.id}/escalate", json={"note": "限期办结", "until": "2026-04-17"}
    )
    assert refused.status_code == 422 and "until" in refused.get_json()["errors"]
    done = api.post(f"/tasks/{task.id}/escalate", json={"note": "限期办结", "until": "2026-04-24"})
    assert done.status_code in (200, 201), done.get_json()
    [item] = api.get("/supervision/overdue").get_json()["items"]
    assert (item["task_id"], item["escalations"], item["supervision_overdue"]) == (
        task.id,
        1,
        False,
    )
    assert item["supervision_due_at"].startswith("2026-04-24T16:00")  # end of 04-24, Shanghai
    assert item["due_at"].startswith("2026-04-14T16:00")  # the original due date stays
    set_clock(rt, "2026-04-27 09:00")
    [item] = login("supervisor.hf").get("/supervision/overdue").get_json()["items"]
    assert item["supervision_overdue"] is True and item["workdays_overdue"] == 9


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
