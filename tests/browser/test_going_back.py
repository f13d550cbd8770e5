"""退回 and 撤回 in the real browser: the committee sends a decision back for further
investigation, the investigator finds it in 我的待办 with the reason and their entries, and
takes back the tolerance consideration they completed by mistake."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.support.world import World


def test_send_back_for_further_investigation_then_withdraw(open_page: Any, world: World) -> None:
    case = world.awaiting_decision()
    decide = world.task(case, "decide")

    committee = open_page()
    sign_in(committee, "committee.hf")
    committee.goto(f"/tasks/{decide.id}")
    committee.locator("details.going-back summary").click()
    committee.locator("#return-to-step").select_option("investigate")
    committee.locator("details.going-back").get_by_role("button", name="退回").click()
    expect(committee.locator("#return-reason-error")).to_have_text("请填写理由")
    expect(committee.locator("#return-to-step")).to_have_value("investigate")  # choice kept
    committee.get_by_label("退回理由").fill("资金流向未查清，请补充调查")
    screenshot(committee, "return.png")
    committee.locator("details.going-back").get_by_role("button", name="退回").click()
    expect(committee).to_have_url(re.compile(r"/tasks$"))
    expect(committee.locator("#messages")).to_contain_text("已退回至「责任调查」")

    investigator = open_page()
    sign_in(investigator, "discipline.hf")
    investigator.goto("/tasks?queue=mine")
    investigator.get_by_role("link", name="责任调查").first.click()
    note = investigator.locator(".reopened")
    expect(note).to_contain_text("本步骤已被退回，请重新办理")
    expect(note).to_contain_text("资金流向未查清，请补充调查")
    expect(investigator.locator(".draft-note")).to_be_visible()
    expect(investigator.locator("textarea").first).to_have_value("违规拨付属实")
    investigator.get_by_role("button", name="办理完成", exact=True).click()
    expect(investigator.locator("#messages")).to_contain_text("已办结：责任调查")

    # the decision is open again: the investigator takes back the consideration
    investigator.goto("/tasks?queue=done")
    investigator.get_by_role("link", name="同步考虑容错情形").first.click()
    investigator.get_by_label("撤回理由").fill("不存在容错情形的理由写得不完整")
    investigator.locator("section.going-back").get_by_role("button", name="撤回").click()
    expect(investigator.locator("#messages")).to_contain_text("已撤回：同步考虑容错情形")
    expect(investigator.get_by_role("heading", level=1)).to_contain_text("同步考虑容错情形")
    expect(investigator.locator(".reopened")).to_contain_text("不存在容错情形的理由写得不完整")

    committee.goto(f"/cases/{case.id}")
    expect(committee.locator("#timeline")).to_contain_text("退回至「责任调查」：资金流向未查清")
    expect(committee.locator("#timeline")).to_contain_text("撤回")
