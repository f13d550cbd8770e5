"""An administrator enters a holiday with its 调休 day as one range, sees in the preview the
investigation's due date that moves, confirms, and the calendar lists the days."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.world import FINDING, World


def test_range_previewed_then_saved(open_page: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    page = open_page()
    sign_in(page, "admin.hf")
    page.goto("/admin/calendar?year=2026")
    entry = page.locator("#import")
    entry.get_by_label("放假首日").fill("2026-03-10")
    entry.get_by_label("放假末日（含）").fill("2026-03-09")
    entry.get_by_role("button", name="预览").click()
    expect(page.locator("#holiday_to-error")).to_contain_text("早于开始日")

    page.locator("#import").get_by_label("放假末日（含）").fill("2026-03-11")
    page.locator("#import").get_by_label("调休上班日").fill("2026-03-14")
    page.locator("#import").get_by_label("说明").fill("临时放假")
    page.locator("#import").get_by_role("button", name="预览").click()
    preview = page.locator("#preview")
    expect(preview).to_contain_text("将设置以下 3 天（尚未保存）")
    moved = preview.locator("table.moves tbody tr").filter(has_text="责任调查")
    expect(moved.filter(has_text="办理期限")).to_contain_text(case.number)
    preview.get_by_role("button", name="确认保存").click()
    expect(page.locator("#messages")).to_contain_text("已保存 3 天的放假安排")
    expect(page.locator("#day-2026-03-14")).to_contain_text("工作日（调休）")
    expect(page.locator("#day-2026-03-10")).to_contain_text("临时放假")
