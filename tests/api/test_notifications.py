"""站内通知: raised by delegation, urges, decisions, the assignment sweep and the time-limit
alarms; read and marked by their own user only."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import func, select

from tests.conftest import advance_clock, set_clock
from tests.support.world import World
from workflows.engine import scheduler
from workflows.engine.models import AuditEvent, HumanTask
from workflows.runtime import Runtime
from workflows.tasks import deadlines, notifications
from workflows.tasks.models import Notification

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _pairs(rt: Runtime, kind: str) -> list[tuple[int | None, str]]:
    with rt.db.reading() as session:
        return [
            (n.task_id, n.username)
            for n in session.execute(
                select(Notification)
                .where(Notification.kind == kind)
                .order_by(Notification.task_id, Notification.username)
            ).scalars()
        ]


def _sweep(rt: Runtime) -> int:
    return notifications.sweep(rt.db, clock=rt.clock)


def _investigation(world: World) -> Any:
    """An investigation, alone: the tolerance consideration due with it is done."""
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    world.complete(
        case,
        "consider_tolerance",
        {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
        "discipline.hf",
    )
    return world.task(case, "investigate")


def _move_to(rt: Runtime, moment: Any) -> None:
    advance_clock(rt, seconds=(moment - rt.clock.now()).total_seconds())


def test_delegation_notifies_only_the_colleague(world: World, login: Any) -> None:
    task = world.task(world.open("accountability", data=REGISTER), "register")
    login("discipline.hf").post(f"/tasks/{task.id}/delegate", json={"username": "discipline2.hf"})
    inbox = login("discipline2.hf").get("/notifications").get_json()
    assert inbox["unread"] == 1 and inbox["total"] == 1
    notice = inbox["items"][0]
    assert (notice["kind"], notice["kind_name"], notice["task_id"]) == ("assigned", "分派", task.id)
    assert (
        "discipline hf（合肥市·纪检监察机关） 委派给你" in notice["title"]
        and notice["case_id"]
        and notice["read_at"] is None
    )
    assert login("discipline.hf").get("/notifications").get_json()["total"] == 0


def test_mark_read_by_ids_or_all_and_only_my_own(world: World, login: Any, rt: Runtime) -> None:
    task_id = world.task(world.open("accountability", data=REGISTER), "register").id
    supervisor = login("supervisor.hf")
    for note in ("第一次催办", "第二次催办", "第三次催办"):
        assert supervisor.post(f"/tasks/{task_id}/urge", json={"note": note}).status_code == 201
    mine, other = login("discipline.hf"), login("discipline2.hf")
    ids = [n["id"] for n in mine.get("/notifications").get_json()["items"]]
    theirs = [n["id"] for n in other.get("/notifications").get_json()["items"]]
    assert len(ids) == 3 and not set(ids) & set(theirs)
    refused = mine.post("/notifications/read", json={"ids": [ids[0], theirs[0]]})
    assert refused.status_code == 404
    assert other.get("/notifications?unread=true").get_json()["unread"] == 3  # untouched
    assert mine.get("/notifications").get_json()["unread"] == 3  # all or nothing
    marked = mine.post("/notifications/read", json={"ids": [ids[0]]}).get_json()
    assert marked == {"marked": 1, "unread": 2}
    unread = mine.get("/notifications?unread=true").get_json()
    assert unread["total"] == 2 and ids[0] not in [n["id"] for n in unread["items"]]
    assert mine.post("/notifications/read", json={"all": True}).get_json() == {
        "marked": 2,
        "unread": 0,
    }
    assert mine.get("/notifications?unread=true").get_json()["items"] == []
    assert other.get("/notifications").get_json()["unread"] == 3
    with rt.db.reading() as session:
        assert (
            session.execute(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "notification.read")
            ).scalar_one()
            == 2
        )


def test_notifications_are_paginated_newest_first(world: World, login: Any) -> None:
    task_id = world.task(world.open("accountability", data=REGISTER), "register").id
    supervisor = login("supervisor.hf")
    for n in range(3):
        supervisor.post(f"/tasks/{task_id}/urge", json={"note": f"第 {n} 次"})
    page = login("discipline.hf").get("/notifications?per_page=2&page=2").get_json()
    assert (page["total"], page["page"], len(page["items"]), page["unread"]) == (3, 2, 1, 3)
    assert page["items"][0]["body"].endswith("第 0 次")


def test_bad_notification_input_is_named(world: World, login: Any) -> None:
    api = login("discipline.hf")
    for body in ({}, {"ids": []}, {"ids": [1], "all": True}, {"all": False}):
        refused = api.post("/notifications/read", json=body)
        assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"ids"}, body
    refused = api.post("/notifications/read", json={"ids": ["x"]})
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {"ids.0"}
    refused = api.get("/notifications?unread=maybe&per_page=0")
    assert refused.status_code == 422 and set(refused.get_json()["errors"]) == {
        "unread",
        "per_page",
    }
    assert api.post("/notifications/read", json={"ids": [424242]}).status_code == 404


def test_notifications_need_a_login(world: World, app: Any) -> None:
    assert app.test_client().get("/api/v1/notifications").status_code == 401


def _alarms(rt: Runtime) -> int:
    return deadlines.sweep(rt.db, clock=rt.clock)


def test_alarms_raise_due_soon_then_overdue_once_per_task_and_user(
    world: World, login: Any, rt: Runtime
) -> None:
    """An unclaimed step's reminder and overdue notice reach everyone its role queue offers it
    to, each once; the step itself stays in the queue."""
    task = _investigation(world)  # due at the end of 2026-04-14, reminder 5 working days before
    assert task.due_at is not None and task.assignee is None
    assert _alarms(rt) == 0
    set_clock(rt, "2026-04-07T08:00:00+08:00")  # 04-14 minus 5 working days (清明 04-04..06)
    assert _alarms(rt) == 2
    pool = [(task.id, "discipline.hf"), (task.id, "discipline2.hf")]
    assert _pairs(rt, "due_soon") == pool and _pairs(rt, "overdue") == []
    assert _alarms(rt) == 0  # nothing twice
    _move_to(rt, task.due_at + timedelta(hours=1))
    assert _alarms(rt) == 2 and _alarms(rt) == 0
    assert _pairs(rt, "overdue") == pool and _pairs(rt, "due_soon") == pool
    notice = login("discipline2.hf").get("/notifications?per_page=1").get_json()["items"][0]
    assert (
        notice["kind"] == "overdue"
        and notice["title"].startswith("已逾期")
        and notice["task_id"] == task.id
    )
    with rt.db.reading() as session:
        assert session.get(HumanTask, task.id).state == "open"


def test_alarms_tell_only_the_holder_of_a_claimed_task(
    world: World, login: Any, rt: Runtime
) -> None:
    task = _investigation(world)
    assert login("discipline2.hf").post(f"/tasks/{task.id}/claim").status_code == 200
    _move_to(rt, task.due_at + timedelta(hours=1))
    assert _alarms(rt) == 1  # the reminder's moment passed unswept: only the overdue notice
    assert _pairs(rt, "overdue") == [(task.id, "discipline2.hf")]
    assert _pairs(rt, "assigned") == []  # claiming is not being assigned
    assert _alarms(rt) == 0


def test_sweep_tells_the_reviewer_the_process_assigned(
    world: World, login: Any, rt: Runtime
) -> None:
    _original, case = world.accepted_appeal()
    review = world.task(case, "review")
    _sweep(rt)
    assert _pairs(rt, "assigned") == [(review.id, "discipline2.hf")]
    _sweep(rt)
    assert _pairs(rt, "assigned") == [(review.id, "discipline2.hf")]
    notice = login("discipline2.hf").get("/notifications").get_json()["items"][0]
    assert notice["kind"] == "assigned" and notice["case_id"] == case.id


def test_a_decision_is_notified_to_the_cadre_only_once_it_is_served(
    world: World, login: Any
) -> None:
    case = world.undelivered_accountability()
    assert login("zhang").get("/notifications").get_json()["total"] == 0  # decided, not served
    world.complete(
        case,
        "notify",
        {"received_on": world.today().isoformat(), "delivery": "in_person"},
        "organization.hf",
    )
    inbox = login("zhang").get("/notifications").get_json()
    decided = [n for n in inbox["items"] if n["kind"] == "decided"]
    assert len(decided) == 1 and decided[0]["case_id"] == case.id
    assert decided[0]["title"] == f"问责决定已送达（{case.number}）"
    assert "决定已于 2026-03-02 送达" in decided[0]["body"]
    assert decided[0]["task_id"] is None  # the 送达 step is the clerks', not the cadre's
    world.complete(
        case,
        "arrange_work",
        {"arrangement": "降职安排至县某局", "arranged_on": world.today().isoformat()},
        "organization.hf",
    )
    again = login("zhang").get("/notifications").get_json()["items"]
    assert [n["id"] for n in again if n["kind"] == "decided"] == [decided[0]["id"]]  # once
    assert login("committee.hf").get("/notifications").get_json()["total"] == 0


def test_the_scheduler_runs_the_notification_sweep_beside_the_timers(rt: Runtime) -> None:
    jobs = BackgroundScheduler(timezone="UTC")
    scheduler._add_job(jobs, rt.db, rt.clock, 5.0)
    assert {job.id for job in jobs.get_jobs()} == {
        "timer-sweep",
        "notification-sweep",
        "time-limit-alarms",
        "mail-delivery",
        "official-document-pdf",
    }
