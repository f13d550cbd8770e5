"""加签 in the real browser: the holder asks a colleague chosen by name, the colleague answers
from their 待办, the holder sees the opinion in 办理记录 and completes the step."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.world import World

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
SECOND = "第二审查员（合肥市·纪检监察机关）"


def test_ask_a_colleague_for_an_opinion_then_complete(open_page: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    task = world.task(case, "register")
    holder = open_page()
    sign_in(holder, "discipline.hf")
    holder.goto(f"/tasks/{task.id}")
    holder.locator("#working-together summary", has_text="加签").click()
    holder.locator("#consult-users").select_option(label=SECOND)
    holder.get_by_role("button", name="加签", exact=True).click()  # no question yet
    expect(holder.locator("#consult-question-error")).to_contain_text("征求意见的问题应为")
    expect(holder.locator("#consult-users option:checked")).to_have_text(SECOND)  # kept
    holder.get_by_label("征求意见的问题").fill("本线索是否具备立案条件？")
    holder.get_by_role("button", name="加签", exact=True).click()
    expect(holder.locator("#messages")).to_contain_text("已加签，征求 1 人的意见")
    together = holder.locator("#working-together")
    expect(together).to_contain_text("本线索是否具备立案条件？")
    expect(together).to_contain_text(f"{SECOND}：尚未回复")
    expect(holder.get_by_role("button", name="办理完成", exact=True)).to_be_disabled()
    expect(holder.locator(".task-form")).to_contain_text("的意见尚未回复")

    colleague = open_page()
    sign_in(colleague, "discipline2.hf")
    colleague.goto("/tasks")
    asked = colleague.locator(".consultations-due")
    expect(asked).to_contain_text("本线索是否具备立案条件？")
    asked.get_by_role("link", name=re.compile("立案")).click()
    expect(colleague.get_by_role("heading", level=1)).to_contain_text("征求意见：立案")
    colleague.get_by_label("我的意见").fill("线索清楚，证据充分，同意立案")
    colleague.get_by_role("button", name="提交意见").click()
    expect(colleague.locator("#messages")).to_contain_text("意见已回复")

    holder.reload()
    expect(holder.locator(".opinions-record")).to_contain_text("线索清楚，证据充分，同意立案")
    holder.get_by_role("button", name="办理完成", exact=True).click()
    expect(holder).to_have_url(re.compile(r"/tasks$"))
    expect(holder.locator("#messages")).to_contain_text(f"已办结：立案（{case.number}）")
    holder.goto(f"/cases/{case.id}")
    expect(holder.locator("#timeline")).to_contain_text(f"{SECOND}：线索清楚，证据充分，同意立案")


def test_the_people_list_narrows_as_a_name_is_typed(open_page: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    task = world.task(case, "register")
    page = open_page()
    sign_in(page, "discipline.hf")
    page.goto(f"/tasks/{task.id}")
    page.locator("#working-together summary", has_text="加签").click()
    options = page.locator("#consult-users option:not([hidden])")
    everyone = options.count()
    assert everyone > 1
    page.locator("#consult-users").select_option(label=SECOND)
    page.get_by_label("查找加签（姓名）").fill("第二")
    expect(options).to_have_count(1)
    expect(options.first).to_have_text(SECOND)
    page.get_by_label("查找加签（姓名）").fill("没有这个人")
    expect(options).to_have_count(1)  # the one chosen stays listed
    page.get_by_label("查找加签（姓名）").fill("")
    expect(options).to_have_count(everyone)
