"""已办结 is said once: the organization clerk serves (送达) two decisions from the inbox, the
second with a 抄送 on completion; each completion's message shows once, and not again on the
next page. Enter in the 抄送 search box narrows the list and completes nothing."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.world import World


def _serve(page: Any, number: str, *, copy_to: str | None = None) -> None:
    row = page.locator("table.tasks tbody tr").filter(has_text=number).filter(has_text="送达")
    row.get_by_role("link", name="送达").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("送达")
    page.get_by_label("收到决定日期").fill("2026-03-02")
    page.get_by_label("直接送达").check()
    if copy_to:
        page.locator("details.copy-on-completion summary").click()
        search = page.locator("input.people-search[data-filter-for=copy-to-users]")
        search.fill(copy_to)
        search.press("Enter")  # narrows the list; the task stays open
        expect(page.get_by_role("heading", level=1)).to_contain_text("送达")
        expect(page.locator("#messages .flash")).to_have_count(0)
        page.locator("#copy-to-users").select_option(copy_to)
        page.locator("#copy-to-note").fill("请知悉")
    page.get_by_role("button", name="办理完成", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tasks$"))


def test_each_completion_is_announced_once(open_page: Any, world: World) -> None:
    first = world.undelivered_accountability()
    second = world.undelivered_accountability(adjustment="transfer")
    page = open_page()
    sign_in(page, "organization.hf")
    page.goto("/tasks?queue=role")
    _serve(page, first.number)
    said = page.locator("#messages .flash")
    expect(said).to_have_count(1)
    expect(said).to_have_text(f"已办结：送达（{first.number}）")

    page.goto("/tasks?queue=role")
    expect(page.locator("#messages .flash")).to_have_count(0)
    _serve(page, second.number, copy_to="discipline2.hf")
    expect(said).to_have_count(1)
    expect(said).to_have_text(f"已办结：送达（{second.number}）")
    page.reload()
    expect(page.locator("#messages .flash")).to_have_count(0)
