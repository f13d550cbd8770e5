"""迁移运行中的案件 in the real browser: a designer opens the page from 流程设计, runs the dry
run between two versions, sees which case cannot move and why, migrates the movable one and
reverts it."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests import support
from tests.browser.conftest import screenshot, sign_in
from tests.support.world import World


def test_dry_run_migrate_and_revert(open_page: Any, world: World) -> None:
    rt = world.rt
    support.deploy(rt, "migrating/v1/migrating.bpmn")
    at_register = support.start(rt, "migrating")
    at_review = support.start(rt, "migrating")
    support.complete(rt, support.task_named(rt, "register", at_review).id)
    support.deploy(rt, "migrating/v2/migrating.bpmn")
    support.deploy(rt, "migrating/v3/migrating.bpmn")

    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/processes")
    page.locator("#process-migrating").get_by_role("link", name="迁移案件").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("迁移运行中的案件")
    page.get_by_label("原版本").select_option("1")
    page.get_by_label("目标版本").select_option("3")
    page.get_by_role("button", name="预检").click()
    expect(page.get_by_role("heading", level=2).first).to_have_text("预检结果：第 1 版 → 第 3 版")
    refused = page.locator(f"#plan-{at_review}")
    expect(refused).to_contain_text("不能迁移")
    expect(refused).to_contain_text("实例正停在步骤“审核”（review）")
    expect(page.locator(f"#plan-{at_register}")).to_contain_text("可以迁移")
    screenshot(page, "migration.png")
    page.get_by_role("button", name="迁移勾选的 1 个案件").click()
    expect(page.locator("#messages")).to_contain_text("已迁移 1 个案件到第 3 版，0 个未迁移")
    history = page.locator("table.migration-history")
    expect(history).to_contain_text("第 1 版 → 第 3 版")
    history.get_by_role("button", name="撤销迁移").click()
    expect(page.locator("#messages")).to_contain_text("已撤销迁移：案件回到第 1 版")
    expect(history).to_contain_text("已撤销")
