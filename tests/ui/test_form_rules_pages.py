"""A form's rules on the task page: every problem of a submission beside its field at once,
the fields a choice makes required marked so, and 立案日期 where 立案 is shown."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from tests.support.world import FINDING, World


def _error_of(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return found.group(1) if found else ""


def test_every_problem_of_a_form_is_shown_at_once(logged_in: Any, world: World) -> None:
    case = world.awaiting_decision()
    task_id = world.task(case, "decide").id
    client, csrf = logged_in("committee.hf")
    ahead = (world.today() + timedelta(days=150)).isoformat()
    response = client.post(
        f"/tasks/{task_id}",
        data={
            "csrf_token": csrf,
            "action": "complete",
            "outcome": "admonishment",
            "adjustment": "demotion",
            "decided_on": ahead,
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "未能提交：请按提示修改（共 3 处）" in html
    assert _error_of(html, "f-reason") == "请填写此项"
    assert _error_of(html, "f-decided_on") == f"不能晚于今天（{world.today()}）：所记录的事须已发生"
    assert _error_of(html, "f-adjustment").startswith(
        "选择「决定：不予问责、从轻减轻处理或约谈」时不能填写此项"
    )
    assert world.task(case, "decide").id == task_id  # nothing stored


def test_a_field_a_choice_requires_says_so_and_is_marked_when_chosen(
    logged_in: Any, world: World
) -> None:
    case = world.awaiting_decision()
    task_id = world.task(case, "decide").id
    client, csrf = logged_in("committee.hf")
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<p class="help" id="f-adjustment-help">' in html
    assert "（选择「决定：组织调整」时必填）" in html
    assert 'aria-required="true"' in html.split('id="f-reason"', 1)[1].split(">", 1)[0]
    chosen = client.post(
        f"/tasks/{task_id}",
        data={"csrf_token": csrf, "action": "complete", "outcome": "adjustment"},
    ).get_data(as_text=True)
    assert _error_of(chosen, "f-adjustment").startswith("选择「决定：组织调整」时必填")
    fieldset = chosen.split('id="f-adjustment">', 1)[1].lstrip()
    assert fieldset.startswith('<legend>组织调整方式<span class="req" aria-hidden="true">*</span>')


def test_case_pages_show_the_registration_date(logged_in: Any, world: World) -> None:
    case = world.open("accountability", data={**FINDING, "registered_on": "2026-02-20"})
    client, _ = logged_in("discipline.hf")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "<dt>立案日期</dt><dd>2026-02-20</dd>" in page
    assert "<dt>登记时间</dt><dd>2026-03-02" in page
    listed = client.get("/cases").get_data(as_text=True)
    assert '<td data-label="立案日期">2026-02-20</td>' in listed
