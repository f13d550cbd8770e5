"""工作日历 page: a holiday range with its 调休 days, or a CSV, previewed with the deadlines
that move, then saved on 确认保存; refusals beside their fields, nothing stored."""

from __future__ import annotations

import html as html_lib
import re
from typing import Any

from sqlalchemy import func, select

from tests.support.world import FINDING, World
from workflows.engine.models import AuditEvent, CalendarOverride
from workflows.runtime import Runtime

RANGE = {
    "year": "2026",
    "holiday_from": "2026-03-10",
    "holiday_to": "2026-03-11",
    "workdays": "2026-03-14",
    "range_note": "临时放假",
    "csv": "",
}


def _error(page: str, field: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]*)</p>', page)
    assert found, f"no error beside {field}"
    return html_lib.unescape(found.group(1))


def _count(rt: Runtime, model: Any, *where: Any) -> int:
    with rt.db.reading() as session:
        query = select(func.count()).select_from(model)
        return session.execute(query.where(*where)).scalar_one()


def test_preview_then_confirm_moves_the_deadlines(
    world: World, logged_in: Any, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    before = world.task(case, "investigate").due_at
    client, csrf = logged_in("admin.hf")
    preview = client.post("/admin/calendar/changes/preview", data={**RANGE, "csrf_token": csrf})
    page = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "确认放假安排" in page
    assert case.number in page and "办理期限" in page and "提醒时间" in page
    assert 'type="hidden" name="holiday_from" value="2026-03-10"' in page  # to confirm
    assert _count(rt, CalendarOverride) == 0
    saved = client.post("/admin/calendar/changes", data={**RANGE, "csrf_token": csrf})
    assert saved.status_code == 303 and saved.headers["Location"] == "/admin/calendar?year=2026"
    shown = client.get("/admin/calendar?year=2026").get_data(as_text=True)  # 调查 and 同步考虑
    assert "已保存 3 天的放假安排；2 个未办结步骤的期限或提醒已重新计算" in shown
    assert _count(rt, CalendarOverride) == 3
    assert _count(rt, AuditEvent, AuditEvent.action == "calendar.change_set") == 1
    assert world.task(case, "investigate").due_at > before


def test_refusals_stand_beside_their_fields(logged_in: Any, rt: Runtime) -> None:
    client, csrf = logged_in("admin.hf")
    reversed_range = client.post(
        "/admin/calendar/changes/preview",
        data={
            **RANGE,
            "holiday_from": "2027-02-13",
            "holiday_to": "2027-02-06",
            "csrf_token": csrf,
        },
    )
    page = reversed_range.get_data(as_text=True)
    assert reversed_range.status_code == 422
    assert "早于开始日" in _error(page, "holiday_to")
    assert 'value="2027-02-13"' in page
    bad_csv = client.post(
        "/admin/calendar/changes",
        data={
            **RANGE,
            "holiday_from": "",
            "holiday_to": "",
            "csv": "2027-02-06,假,春节",
            "csrf_token": csrf,
        },
    )
    assert bad_csv.status_code == 422
    assert _error(bad_csv.get_data(as_text=True), "csv") == "第 1 行：类别“假”应为“休”或“班”"
    assert _count(rt, CalendarOverride) == 0


def test_other_roles_and_forged_posts_are_refused(logged_in: Any, rt: Runtime) -> None:
    client, csrf = logged_in("supervisor.hf")
    for path in ("/admin/calendar/changes/preview", "/admin/calendar/changes"):
        assert client.post(path, data={**RANGE, "csrf_token": csrf}).status_code == 403
    admin, _csrf = logged_in("admin.hf")
    assert admin.post("/admin/calendar/changes", data=RANGE).status_code == 403
    assert _count(rt, CalendarOverride) == 0
