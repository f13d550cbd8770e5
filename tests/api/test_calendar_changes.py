"""A holiday range with its 调休 days, or a CSV notice, saved at once over HTTP: the preview
lists the open deadlines that move, saving moves them and their alarms, one audit row."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import func, select

from tests.support.world import FINDING, World
from workflows.engine import functions, time_limits
from workflows.engine.models import AuditEvent, CalendarOverride, TaskAlarm
from workflows.runtime import Runtime

#: Two holidays inside the investigation's 30 working days, and a Saturday worked instead.
RANGE = {
    "holiday_from": "2026-03-10",
    "holiday_to": "2026-03-11",
    "workdays": ["2026-03-14"],
    "note": "临时放假",
}


def _investigating(world: World) -> Any:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    return case


def _alarms(rt: Runtime, task: Any) -> dict[str, Any]:
    with rt.db.reading() as session:
        rows = session.execute(
            select(TaskAlarm).where(
                TaskAlarm.instance_id == task.instance_id,
                TaskAlarm.spiff_task_id == task.spiff_task_id,
            )
        ).scalars()
        return {row.kind: row.fire_at for row in rows}


def _overrides(rt: Runtime) -> int:
    with rt.db.reading() as session:
        return session.execute(select(func.count()).select_from(CalendarOverride)).scalar_one()


def test_preview_lists_the_moves_and_saving_applies_them_with_one_audit_row(
    world: World, login: Any, rt: Runtime
) -> None:
    case = _investigating(world)
    task = world.task(case, "investigate")
    before_alarms = _alarms(rt, task)
    assert set(before_alarms) == {"remind", "overdue"}
    api = login("admin.hf")

    preview = api.post("/admin/calendar/changes", json={**RANGE, "dry_run": True})
    assert preview.status_code == 200, preview.get_json()
    body = preview.get_json()
    assert body["saved"] is False
    assert [(d["day"], d["is_workday"]) for d in body["days"]] == [
        ("2026-03-10", False),
        ("2026-03-11", False),
        ("2026-03-14", True),
    ]
    moved = {(m["task_id"], m["what"]) for m in body["moves"]}
    assert (task.id, "due") in moved and (task.id, "remind") in moved
    assert _overrides(rt) == 0 and world.task(case, "investigate").due_at == task.due_at

    saved = api.post("/admin/calendar/changes", json=RANGE)
    assert saved.status_code == 200 and saved.get_json()["saved"] is True
    assert saved.get_json()["moves"] == body["moves"]
    after = world.task(case, "investigate")
    with rt.db.reading() as session:
        calendar = functions.load_calendar(session)
        events = list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == "calendar.change_set")
            ).scalars()
        )
    # 30 working days from 立案 2026-03-02 under the new calendar (one net day later)
    expected = calendar.add_workdays(date(2026, 3, 2), 30)
    assert time_limits.due_day(after.due_at, rt.clock) == expected
    assert after.due_at > task.due_at
    alarms = _alarms(rt, after)
    assert alarms["overdue"] == after.due_at
    assert alarms["remind"] == time_limits.start_of(calendar.add_workdays(expected, -5), rt.clock)
    # 同步考虑容错情形 shares the investigation's due date and moves with it
    assert world.task(case, "consider_tolerance").due_at == after.due_at
    assert len(events) == 1
    detail = json.loads(events[0].detail)
    assert [d["day"] for d in detail["days"]] == ["2026-03-10", "2026-03-11", "2026-03-14"]
    assert task.id in {m["task"] for m in detail["moved"]}


def test_csv_import_of_a_notice(world: World, login: Any, rt: Runtime) -> None:
    api = login("admin.hf")
    notice = "date,kind,name\n2027-02-06~2027-02-13,休,春节\n\n# 调休\n2027-02-14,班,春节调休\n"
    saved = api.post("/admin/calendar/changes", json={"csv": notice})
    assert saved.status_code == 200, saved.get_json()
    days = saved.get_json()["days"]
    assert len(days) == 9 and days[-1] == {
        "day": "2027-02-14",
        "is_workday": True,
        "note": "春节调休",
    }
    assert days[0]["note"] == "春节" and not days[0]["is_workday"]
    assert _overrides(rt) == 9


def test_bad_input_is_refused_naming_the_line_or_field_and_nothing_is_stored(
    world: World, login: Any, rt: Runtime
) -> None:
    api = login("admin.hf")
    reversed_range = api.post(
        "/admin/calendar/changes",
        json={"holiday_from": "2027-02-13", "holiday_to": "2027-02-06", "workdays": ["2027-02-x"]},
    )
    errors = reversed_range.get_json()["errors"]
    assert reversed_range.status_code == 422 and set(errors) == {"holiday_to", "workdays"}
    assert "早于" in errors["holiday_to"][0] and "2027-02-x" in errors["workdays"][0]
    both = api.post(
        "/admin/calendar/changes",
        json={"holiday_from": "2027-02-06", "holiday_to": "2027-02-13", "workdays": ["2027-02-08"]},
    )
    assert "既设为放假又设为调休上班" in both.get_json()["errors"]["workdays"][0]
    lines = (
        "2027-02-06~2027-02-13,休,春节\n2027-02-31,休,x\n2027-02-07,班\n2101-01-01,休\n1,2,3,4\n"
    )
    bad = api.post("/admin/calendar/changes", json={"csv": lines})
    by_line = {m[:6]: m for m in bad.get_json()["errors"]["csv"]}
    assert bad.status_code == 422 and sorted(by_line) == [f"第 {n} 行：" for n in (2, 3, 4, 5)]
    assert "2027-02-31" in by_line["第 2 行："] and "放假" in by_line["第 3 行："]
    assert "2100" in by_line["第 4 行："] and "三列" in by_line["第 5 行："]
    too_long = api.post("/admin/calendar/changes", json={"csv": "2027-02-06,休,春节\n" * 2000})
    assert too_long.status_code == 422 and "20000" in too_long.get_json()["errors"]["csv"][0]
    many = api.post(
        "/admin/calendar/changes",
        json={"holiday_from": "2027-02-06", "holiday_to": "2027-02-06", "workdays": ["x"] * 40},
    )
    assert many.status_code == 422 and set(many.get_json()["errors"]) == {"workdays"}
    empty = api.post("/admin/calendar/changes", json={"holiday_from": "", "holiday_to": ""})
    assert set(empty.get_json()["errors"]) == {"holiday_from", "holiday_to"}
    assert _overrides(rt) == 0


def test_only_admins_change_the_calendar(world: World, login: Any, rt: Runtime) -> None:
    for user in ("supervisor.hf", "designer.hf", "discipline.hf"):
        refused = login(user).post("/admin/calendar/changes", json={**RANGE, "dry_run": True})
        assert refused.status_code == 403, user
        assert login(user).post("/admin/calendar/changes", json=RANGE).status_code == 403
    assert _overrides(rt) == 0
