"""A supervisor's day in a real browser: the dashboard's charts and tables, the overdue list,
an urge with a note that is recorded and counted; both pages on a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, log_in, screenshot, sign_in
from tests.conftest import set_clock
from tests.support.world import World
from workflows.cases.models import CaseFile
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


@pytest.fixture
def late(rt: Runtime, world: World) -> dict[str, CaseFile]:
    """On 2026-04-20: 合肥市's investigation (张三) and 肥东县's (李四) four working days overdue
    (their tolerance consideration done), and a third case registered that day, due in 30
    working days."""
    cases = {}
    for name, cadre in (("hf", "zhang"), ("fd", "li")):
        case = world.open("accountability", cadre=cadre, data=FINDING)
        world.complete(case, "register", {}, "discipline.hf")
        world.complete(
            case,
            "consider_tolerance",
            {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
            "discipline.hf",
        )
        cases[name] = case
    set_clock(rt, "2026-04-20 09:00")
    fresh = world.open("accountability", data=FINDING)
    world.complete(fresh, "register", {}, "discipline.hf")
    return cases


def test_supervisor_sees_the_dashboard_and_urges_an_overdue_task(
    open_page: Any, world: World, late: dict[str, CaseFile]
) -> None:
    page = open_page()
    log_in(page, "supervisor.hf")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="督查").click()
    expect(page).to_have_url(re.compile(r"/supervision$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("督查")

    page.wait_for_function("() => typeof Chart !== 'undefined'")  # a deferred script
    for key in ("by_org_unit", "by_process", "by_role", "aging"):
        canvas = page.locator(f"#chart-{key}")
        expect(canvas).to_be_visible()
        assert page.evaluate(
            "key => Chart.getChart(document.getElementById('chart-' + key)) !== undefined", key
        ), f"{key}: no chart drawn"
    units = page.get_by_role("table", name="按单位统计")
    expect(units.get_by_role("row", name=re.compile("肥东县"))).to_contain_text("1")
    expect(
        page.get_by_role("table", name="逾期时长分布").get_by_role(
            "row", name=re.compile("逾期 4–7 个工作日")
        )
    ).to_contain_text("2")
    oldest = page.get_by_role("table", name="逾期最久的案件")
    expect(oldest.locator("tbody tr")).to_have_count(2)
    expect(oldest).to_contain_text(late["hf"].number)
    screenshot(page, "supervision.png")

    page.get_by_role("link", name=re.compile("查看全部逾期任务")).click()
    expect(page).to_have_url(re.compile(r"/supervision/overdue$"))
    task_id = world.task(late["hf"], "investigate").id
    row = page.locator(f"#overdue-{task_id}")
    expect(row.locator("td.days")).to_have_text("4")  # working days: 04-15, 16, 17 and 20
    expect(row.locator("td.urges")).to_have_text("0")

    row.get_by_text("催办 / 督办").click()
    note = row.get_by_label("说明（必填）")
    expect(note).to_be_visible()
    note.fill("请于本周五前报送调查报告")
    row.get_by_role("button", name="催办", exact=True).click()
    expect(page.locator("#messages")).to_contain_text("已催办：责任调查")
    row = page.locator(f"#overdue-{task_id}")
    expect(row.locator("td.urges")).to_have_text("1")
    expect(row.locator("td.last-urge")).to_contain_text("supervisor hf（合肥市·督查）")
    other = page.locator(f"#overdue-{world.task(late['fd'], 'investigate').id}")
    other.get_by_text("催办 / 督办").click()  # the screenshot shows the form too
    expect(other.get_by_label("说明（必填）")).to_be_visible()
    screenshot(page, "overdue.png")

    urges = page.request.get(f"/api/v1/tasks/{task_id}/urges")
    assert urges.ok
    assert [(u["urged_by"], u["note"]) for u in urges.json()] == [
        ("supervisor.hf", "请于本周五前报送调查报告")
    ]


def test_filter_the_overdue_list_by_keyboard(open_page: Any, late: dict[str, CaseFile]) -> None:
    page = open_page()
    sign_in(page, "supervisor.hf")
    page.goto("/supervision/overdue")
    page.get_by_label("单位").select_option(label="肥东县")
    page.get_by_label("单位").focus()
    for _ in range(3):  # past 流程 and 角色 to 筛选
        page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="筛选")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"org_unit=ah-hf-fd"))
    expect(page.locator("table.overdue-list tbody tr")).to_have_count(1)
    expect(page.locator("table.overdue-list tbody tr")).to_contain_text("李四")
    expect(page.get_by_role("link", name="CSV")).to_have_attribute(
        "href", "/supervision/overdue.csv?org_unit=ah-hf-fd"
    )


@pytest.mark.parametrize("path", ["/supervision", "/supervision/overdue"])
def test_supervision_pages_fit_a_phone(
    open_page: Any, late: dict[str, CaseFile], path: str
) -> None:
    page = open_page(viewport=PHONE)
    sign_in(page, "supervisor.hf")
    page.goto(path)
    expect(page.locator("main h1")).to_be_visible()
    widths = page.evaluate("""() => ({
        page: document.documentElement.scrollWidth, body: document.body.scrollWidth,
        view: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["view"] and widths["body"] <= widths["view"], widths
