"""When a reminder will come: task bodies carry `remind_at` (the pending 临期提醒 alarm), in
one task, the queues and a completion's next tasks; null once sent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from tests.conftest import set_clock
from tests.support.world import FINDING, World
from workflows.engine.models import TaskAlarm
from workflows.runtime import Runtime
from workflows.tasks import deadlines


def _remind_alarm(rt: Runtime, task: Any) -> datetime:
    with rt.db.reading() as session:
        return session.execute(
            select(TaskAlarm.fire_at).where(
                TaskAlarm.instance_id == task.instance_id,
                TaskAlarm.spiff_task_id == task.spiff_task_id,
                TaskAlarm.kind == "remind",
            )
        ).scalar_one()


def _in_queues(api: Any, task_id: int) -> dict[str, Any]:
    for queue in ("mine", "role"):
        for item in api.get(f"/tasks?queue={queue}").get_json()["items"]:
            if item["id"] == task_id:
                return dict(item)
    raise AssertionError(f"task {task_id} in no queue")


def test_remind_at_in_the_api_until_the_reminder_is_sent(
    world: World, login: Any, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    register = world.task(case, "register")
    api = login("discipline.hf")
    assert api.get(f"/tasks/{register.id}").get_json()["remind_at"] is None  # no reminder set
    done = api.post(f"/tasks/{register.id}/complete", json={"data": {}})
    assert done.status_code == 200, done.get_json()
    investigate = world.task(case, "investigate")
    expected = _remind_alarm(rt, investigate)
    next_task = next(t for t in done.get_json()["next_tasks"] if t["element"] == "investigate")
    assert datetime.fromisoformat(next_task["remind_at"]) == expected
    body = api.get(f"/tasks/{investigate.id}").get_json()
    assert datetime.fromisoformat(body["remind_at"]) == expected < investigate.due_at
    assert datetime.fromisoformat(_in_queues(api, investigate.id)["remind_at"]) == expected

    set_clock(rt, expected.isoformat())
    assert deadlines.sweep(rt.db, clock=rt.clock) >= 1  # the reminder is sent: none pending
    again = login("discipline.hf")
    assert again.get(f"/tasks/{investigate.id}").get_json()["remind_at"] is None
