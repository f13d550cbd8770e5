"""A clerk's day in a real browser: log in, find the overdue task, claim it; English; a phone."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import PHONE, log_in, screenshot
from tests.conftest import advance_clock
from tests.support.world import World
from workflows.cases.models import CaseFile
from workflows.runtime import Runtime
from workflows.tasks import deadlines

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


@pytest.fixture
def busy(rt: Runtime, world: World) -> dict[str, CaseFile]:
    """Three accountability cases in discipline.hf's queue on 2026-04-15: the first one's
    investigation overdue, the second's due today (due soon), the third's weeks away;
    the overdue and due-soon notices raised by the alarm sweep (责任调查 and 同步考虑容错情形
    share their 办理时限, so each case that is late or close has two)."""
    cases = {}
    for name, wait in (("overdue", {"days": 1}), ("soon", {"days": 17}), ("later", {"days": 26})):
        case = world.open("accountability", data=FINDING)
        world.complete(case, "register", {}, "discipline.hf")
        cases[name] = case
        advance_clock(rt, **wait)
    deadlines.sweep(rt.db, clock=rt.clock)
    return cases


def _row(page: Any, case: CaseFile, task: str = "责任调查") -> Any:
    return page.locator("table.tasks tbody tr").filter(has_text=case.number).filter(has_text=task)


def test_clerk_logs_in_finds_the_overdue_task_and_claims_it(
    open_page: Any, world: World, busy: dict[str, CaseFile]
) -> None:
    page = open_page()
    page.goto("/tasks")
    expect(page).to_have_url(re.compile(r"/login\?next=(/|%2F)tasks$"))
    screenshot(page, "login.png")

    page.get_by_label("用户名").fill("discipline.hf")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("#password-error")).to_have_text("用户名或密码错误")
    expect(page.get_by_label("用户名")).to_have_value("discipline.hf")
    expect(page.get_by_label("密码")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("密码").fill("demo-pass-1")
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.locator("header .who")).to_have_text("discipline hf · 纪检监察机关 · 合肥市")
    expect(page.locator("header .notices .count")).to_have_text("4")

    overdue, soon, later = (
        _row(page, busy["overdue"]),
        _row(page, busy["soon"]),
        _row(page, busy["later"]),
    )
    expect(overdue.locator(".mark")).to_have_text("逾期")
    expect(overdue).to_have_class("overdue")
    expect(soon.locator(".mark")).to_have_text("即将到期")
    expect(later.locator(".mark")).to_have_count(0)
    dates = page.locator("table.tasks tbody tr td.due > time").all_inner_texts()
    assert dates == sorted(dates) and dates[0] == "2026-04-14"

    overdue.get_by_role("button", name="认领").click()
    expect(page.locator("#messages")).to_contain_text("已认领：责任调查")
    expect(overdue.locator("td").nth(5)).to_have_text("discipline hf（合肥市·纪检监察机关）")
    expect(
        overdue.get_by_role("button", name="取消认领")
    ).to_be_focused()  # the keyboard stays on the row
    assert world.task(busy["overdue"], "investigate").assignee == "discipline.hf"
    screenshot(page, "inbox.png")

    page.get_by_role("link", name="我的待办").click()
    expect(page.locator("table.tasks tbody tr")).to_have_count(1)
    _row(page, busy["overdue"]).get_by_role("button", name="取消认领").click()
    expect(page.locator("table.tasks tbody tr")).to_have_count(0)
    assert world.task(busy["overdue"], "investigate").assignee is None


def test_language_switch_changes_the_labels_and_is_remembered(
    open_page: Any, busy: dict[str, CaseFile]
) -> None:
    page = open_page()
    log_in(page, "discipline.hf")
    expect(page.get_by_role("link", name="本岗位待办")).to_be_visible()

    page.get_by_role("link", name="English").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tasks")
    expect(page.get_by_role("link", name="My role's queue")).to_be_visible()
    expect(
        _row(page, busy["overdue"], "Responsibility investigation").locator(".mark")
    ).to_have_text("Overdue")
    expect(page.get_by_role("button", name="Claim").first).to_be_visible()

    page.get_by_role("link", name="Notifications").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Notifications")
    page.get_by_role("link", name="中文").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("通知")
    page.goto("/tasks?lang=en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Tasks")


def test_inbox_fits_a_phone_screen(open_page: Any, busy: dict[str, CaseFile]) -> None:
    page = open_page(viewport=PHONE)
    log_in(page, "discipline.hf")
    expect(_row(page, busy["overdue"]).locator(".mark")).to_have_text("逾期")
    widths = page.evaluate("""() => ({
        page: document.documentElement.scrollWidth, body: document.body.scrollWidth,
        view: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["view"] and widths["body"] <= widths["view"], widths
    button = _row(page, busy["overdue"]).get_by_role("button", name="认领")
    box = button.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= widths["view"]
    screenshot(page, "inbox-phone.png")
