"""提醒时间 on the task page and the inbox row: when the step's 临期提醒 will come."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tests.support.world import FINDING, World
from workflows.engine.models import TaskAlarm
from workflows.runtime import Runtime


def test_the_task_page_and_the_inbox_row_show_the_reminder(
    world: World, logged_in: Any, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    investigate = world.task(case, "investigate")
    with rt.db.reading() as session:
        remind_at = session.execute(
            select(TaskAlarm.fire_at).where(
                TaskAlarm.instance_id == investigate.instance_id,
                TaskAlarm.spiff_task_id == investigate.spiff_task_id,
                TaskAlarm.kind == "remind",
            )
        ).scalar_one()
    local = remind_at.astimezone(rt.clock.tz).strftime("%Y-%m-%d %H:%M")
    shown = f'<time datetime="{remind_at.isoformat()}">{local}</time>'
    client, _csrf = logged_in("discipline.hf")
    page = client.get(f"/tasks/{investigate.id}").get_data(as_text=True)
    assert f"<dt>提醒时间</dt><dd>{shown}</dd>" in page
    inbox = "".join(
        client.get(f"/tasks?queue={q}").get_data(as_text=True) for q in ("mine", "role")
    )
    assert f'<span class="muted remind">提醒时间 {shown}</span>' in inbox
    # 登记 has a due date and no reminder: no 提醒时间
    register = world.task(world.open("accountability", data=FINDING), "register")
    assert "<dt>提醒时间</dt>" not in client.get(f"/tasks/{register.id}").get_data(as_text=True)
