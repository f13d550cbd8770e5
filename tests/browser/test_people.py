"""A clerk delegates (委派) a task by choosing a colleague by name: the search box narrows the
list as they type, the keyboard reaches the list, and the task then shows its holder by name."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.support import HASHER
from tests.support.world import World
from workflows.org import service as org
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
ZHAO = "赵六（合肥市·第二纪检监察室副主任）"


def test_clerk_delegates_by_choosing_a_colleague_by_name(
    open_page: Any, world: World, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    task_id = world.task(case, "investigate").id
    with rt.db.transaction() as session:
        org.add_user(
            session,
            username="zhao.hf",
            display_name="赵六",
            post="第二纪检监察室副主任",
            password="demo-pass-1",
            role="discipline",
            org_unit_code="ah-hf",
            clock=rt.clock,
            hasher=HASHER,
        )
    page = open_page()
    sign_in(page, "discipline.hf")
    page.goto(f"/tasks/{task_id}")
    delegation = page.locator("details.reassign").filter(has_text="委派后你仍是委派人")
    delegation.locator("summary").click()
    people = delegation.locator("select#delegate-username")
    expect(people.locator("option")).to_have_count(3)  # （请选择）, 第二审查员, 赵六
    search = delegation.locator("#delegate-username-q")
    search.fill("赵")
    expect(people.locator("option")).to_have_count(2)  # （请选择）, 赵六
    expect(people.locator("option").nth(1)).to_have_text(ZHAO)
    page.keyboard.press("Tab")  # from the search box to the list
    expect(people).to_be_focused()
    people.select_option(label=ZHAO)
    screenshot(page, "delegate-by-name.png")
    delegation.get_by_role("button", name="委派").click()
    expect(page.locator(".flash-success")).to_contain_text(f"已委派给 {ZHAO}：责任调查")
    holder = page.locator("dl.facts dt", has_text="办理人").locator(
        "xpath=following-sibling::dd[1]"
    )
    expect(holder).to_contain_text(ZHAO)
    expect(holder).to_contain_text("discipline hf（合肥市·纪检监察机关） 委派")
    expect(page.locator("main")).not_to_contain_text("zhao.hf")
