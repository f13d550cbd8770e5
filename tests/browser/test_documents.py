"""案件材料 in a real browser on a phone: a clerk picks a file on the task page, a wrong one is
answered beside the field, the right one lands on the case page; nothing is wider than 375 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from tests.api.test_documents import PDF, disguised_exe
from tests.browser.conftest import PHONE, sign_in
from tests.support.world import World

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
LONG_NAME = "关于合肥市某局违规拨付专项资金问题的调查报告（第二稿，含附表一至附表五）_20260302.pdf"


def _fits(page: Any) -> None:
    widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                       view: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["view"], widths


def test_clerk_attaches_a_document_on_a_phone(open_page: Any, world: World, tmp_path: Path) -> None:
    case = world.open("accountability", data=FINDING)
    task_id = world.task(case, "register").id
    wrong, right = tmp_path / "调查报告.pdf", tmp_path / LONG_NAME
    wrong.write_bytes(disguised_exe())
    right.write_bytes(PDF)
    page = open_page(viewport=PHONE)
    sign_in(page, "discipline.hf")
    page.goto(f"/tasks/{task_id}")

    page.locator("#documents summary", has_text="添加材料").click()
    page.get_by_label("文件").set_input_files(str(wrong))
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#doc-file-error")).to_contain_text("可执行程序")
    expect(page.get_by_label("文件")).to_be_focused()
    _fits(page)

    page.get_by_label("文件").set_input_files(str(right))
    page.get_by_label("标题（可选）").fill("调查报告")
    page.get_by_role("button", name="上传").click()
    expect(page.locator("#messages")).to_contain_text("已添加材料")
    expect(page.locator("#documents .doc-list")).to_contain_text(LONG_NAME)
    _fits(page)

    page.goto(f"/cases/{case.id}")
    item = page.locator("#documents li.case-doc").filter(has_text=LONG_NAME)
    expect(item).to_contain_text("环节：立案")
    item.locator("summary", has_text="撤回").click()
    item.get_by_role("button", name="确认撤回").click()
    expect(page.locator("#withdraw-1-reason-error")).to_have_text("请说明撤回理由（1–1000 个字）")
    _fits(page)
    page.get_by_label("撤回理由").fill("传错了版本")
    page.get_by_role("button", name="确认撤回").click()
    expect(page.locator("#documents li.withdrawn")).to_contain_text("传错了版本")
    _fits(page)
