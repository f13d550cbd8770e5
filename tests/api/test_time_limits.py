"""办理时限 on every step (DOMAIN.md §4): due dates and their basis, administrators' settings,
overdue work that stays with its holder, and reminders that are notifications."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from tests.conftest import set_clock
from tests.support.world import World
from workflows.engine import time_limits
from workflows.engine.models import AuditEvent, HumanTask, TaskAlarm
from workflows.runtime import Runtime
from workflows.tasks import deadlines
from workflows.tasks.models import Notification

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
LIMITS = "/admin/settings/time-limits"


def _notices(rt: Runtime, kind: str, task_id: int) -> list[Notification]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(Notification)
                .where(Notification.kind == kind, Notification.task_id == task_id)
                .order_by(Notification.id)
            ).scalars()
        )


def _registered(world: World) -> Any:
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {"registered_on": "2026-03-02"}, "discipline.hf")
    return case


def _due_day(rt: Runtime, task: HumanTask) -> date:
    assert task.due_at is not None
    return time_limits.due_day(task.due_at, rt.clock)


def test_every_step_gets_its_due_date_and_basis_on_becoming_available(
    world: World, rt: Runtime
) -> None:
    case = world.open("accountability", data=REGISTER)
    register = world.task(case, "register")
    # 2026-03-02 (Monday) + 5 working days
    assert _due_day(rt, register) == date(2026, 3, 9)
    assert register.due_basis == "收到问题线索之日 2026-03-02 起5个工作日"
    world.complete(case, "register", {"registered_on": "2026-03-02"}, "discipline.hf")
    investigate = world.task(case, "investigate")
    assert investigate.due_basis == "立案之日 2026-03-02 起30个工作日"
    assert _due_day(rt, investigate) == date(2026, 4, 14)  # 清明 (04-04..06) skipped
    tolerance = world.task(case, "consider_tolerance")
    assert tolerance.due_at == investigate.due_at
    assert tolerance.due_basis.startswith("与“责任调查”同时到期：立案之日 2026-03-02")


def test_a_limit_and_its_overdue_days_span_spring_festival_and_a_tiaoxiu_saturday(
    world: World, rt: Runtime
) -> None:
    set_clock(rt, "2026-02-12T09:00:00+08:00")  # Thursday before the 2026 Spring Festival
    case = world.open("accountability", data=REGISTER)
    register = world.task(case, "register")
    # 02-13 (Fri), 02-14 (a 调休 Saturday), the holiday 02-15..02-23, then 02-24, 02-25, 02-26
    assert _due_day(rt, register) == date(2026, 2, 26)
    set_clock(rt, "2026-03-02T10:00:00+08:00")  # late: 02-27, 02-28 (调休 Saturday), 03-02
    deadlines.sweep(rt.db, clock=rt.clock)
    told = _notices(rt, "overdue", register.id)
    assert told and "逾期 3 个工作日" in told[0].body
    assert world.task(case, "register").state == "open"


def test_overdue_work_stays_with_its_holder_and_is_told_once(
    world: World, rt: Runtime, login: Any
) -> None:
    case = _registered(world)
    investigate = world.task(case, "investigate")
    api = login("discipline.hf")
    assert api.post(f"/tasks/{investigate.id}/claim").status_code == 200
    set_clock(rt, "2026-04-17T10:00:00+08:00")  # due 04-14: 04-15, 04-16, 04-17 are late
    deadlines.sweep(rt.db, clock=rt.clock)
    deadlines.sweep(rt.db, clock=rt.clock)
    still = world.task(case, "investigate")
    assert (
        still.id == investigate.id and still.state == "open" and still.assignee == "discipline.hf"
    )
    assert {t.task_spec for t in world.tasks(case)} == {"investigate", "consider_tolerance"}
    told = _notices(rt, "overdue", investigate.id)
    assert [n.username for n in told] == ["discipline.hf"]
    assert "逾期 3 个工作日" in told[0].body and "仍由你办理" in told[0].body
    with rt.db.reading() as session:  # its alarms fired and are gone
        left = session.execute(
            select(TaskAlarm.kind).where(TaskAlarm.spiff_task_id == investigate.spiff_task_id)
        ).scalars()
        assert list(left) == []
    api = login("discipline.hf")  # moving the clock by weeks ended the session
    listed = api.get("/tasks?overdue=true").get_json()
    rows = next(v for v in listed.values() if isinstance(v, list))
    shown = next(row for row in rows if row["id"] == investigate.id)
    assert shown["due_basis"] == "立案之日 2026-03-02 起30个工作日"


def test_a_reminder_is_a_notification_on_the_right_working_day(world: World, rt: Runtime) -> None:
    case = _registered(world)
    investigate = world.task(case, "investigate")  # due 2026-04-14, reminder 5 working days before
    set_clock(rt, "2026-04-06T23:00:00+08:00")  # the day before the reminder day
    deadlines.sweep(rt.db, clock=rt.clock)
    assert _notices(rt, "due_soon", investigate.id) == []
    set_clock(rt, "2026-04-07T08:00:00+08:00")  # 04-14 minus 5 working days (清明 04-04..06)
    deadlines.sweep(rt.db, clock=rt.clock)
    told = _notices(rt, "due_soon", investigate.id)
    assert len(told) >= 1 and told[0].title.startswith("临期提醒：责任调查")
    assert "2026-04-14" in told[0].body
    # no queue task was made for it
    assert {t.task_spec for t in world.tasks(case)} == {"investigate", "consider_tolerance"}


def test_administrators_change_a_default_for_steps_that_become_available_later(
    world: World, rt: Runtime, login: Any
) -> None:
    api = login("admin.hf")
    listed = {(s["process_key"], s["element"]): s for s in api.get(LIMITS).get_json()}
    investigate = listed[("accountability", "investigate")]
    assert (investigate["amount"], investigate["unit"], investigate["source"]) == (
        30,
        "workdays",
        "default",
    )
    assert investigate["counted_from"] == "立案之日" and investigate["editable"] is True
    review = listed[("appeal", "review")]
    assert review["editable"] is False and "问责条例第二十条" in review["fixed"]
    assert all(s["source"] != "none" for s in listed.values()), [
        k for k, s in listed.items() if s["source"] == "none"
    ]
    before = _registered(world)
    changed = api.put(
        f"{LIMITS}/accountability/investigate",
        json={"amount": 20, "unit": "workdays", "reminder_workdays": 3},
    )
    assert changed.status_code == 200, changed.get_json()
    assert (
        changed.get_json()["source"] == "setting" and changed.get_json()["updated_by"] == "admin.hf"
    )
    with rt.db.reading() as session:
        row = session.execute(
            select(AuditEvent).where(AuditEvent.action == "settings.time_limit")
        ).scalar_one()
    detail = json.loads(row.detail)
    assert detail["before"]["amount"] == 30 and detail["after"]["amount"] == 20
    after = _registered(world)
    assert world.task(after, "investigate").due_basis == "立案之日 2026-03-02 起20个工作日"
    assert world.task(before, "investigate").due_basis == "立案之日 2026-03-02 起30个工作日"
    reset = api.delete(f"{LIMITS}/accountability/investigate")
    assert reset.get_json()["amount"] == 30 and reset.get_json()["source"] == "default"


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("accountability/investigate", {"amount": 0, "unit": "workdays"}, "amount"),
        ("accountability/investigate", {"amount": -3, "unit": "workdays"}, "amount"),
        ("accountability/investigate", {"amount": 2501, "unit": "workdays"}, "amount"),
        ("accountability/investigate", {"amount": 121, "unit": "months"}, "amount"),
        ("accountability/investigate", {"amount": "30", "unit": "workdays"}, "amount"),
        ("accountability/investigate", {"amount": 30, "unit": "weeks"}, "unit"),
        (
            "accountability/investigate",
            {"amount": 30, "unit": "workdays", "reminder_workdays": 0},
            "reminder_workdays",
        ),
        ("nothing/investigate", {"amount": 30, "unit": "workdays"}, "process_key"),
        ("accountability/nothing", {"amount": 30, "unit": "workdays"}, "element"),
        ("appeal/review", {"amount": 2, "unit": "months"}, "element"),
    ],
)
def test_a_bad_time_limit_is_refused_naming_the_field_and_nothing_is_stored(
    world: World, login: Any, path: str, body: dict[str, Any], field: str
) -> None:
    api = login("admin.hf")
    refused = api.put(f"{LIMITS}/{path}", json=body)
    assert refused.status_code == 422, refused.get_json()
    assert field in refused.get_json()["errors"], refused.get_json()
    listed = api.get(LIMITS).get_json()
    assert all(s["source"] != "setting" for s in listed)


def test_only_administrators_change_time_limits(world: World, login: Any) -> None:
    for user in ("discipline.hf", "supervisor.hf"):
        api = login(user)
        assert api.get(LIMITS).status_code == 403
        assert (
            api.put(
                f"{LIMITS}/accountability/investigate", json={"amount": 3, "unit": "workdays"}
            ).status_code
            == 403
        )
