"""The form designer in a real browser: a designer adds a required date field to 立案, the
preview's 试填校验 refuses it empty, saves the draft, deploys it with a 版本说明; a case
started afterwards refuses completing 立案 without the date. A second designer's save over
the same revision is told who saved, keeps the edits, and may overwrite."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.conftest import screenshot, sign_in
from tests.support.world import FINDING, World
from workflows.definitions import catalog
from workflows.engine.models import FormDraft

STEM = "accountability_register"


def _add_date_field(page: Any) -> None:
    page.get_by_label("字段类型").select_option(label="日期")
    page.get_by_role("button", name="添加", exact=True).click()
    page.get_by_label("字段键（英文标识，如 decided_on）").fill("decided_on")
    page.get_by_label("字段键（英文标识，如 decided_on）").press("Tab")
    page.get_by_label("标题", exact=True).fill("决定日期")
    page.get_by_label("标题", exact=True).press("Tab")
    page.get_by_label("说明", exact=True).fill("党委（党组）作出决定的日期")
    page.get_by_label("说明", exact=True).press("Tab")
    page.get_by_label("必填", exact=True).check()


def test_designer_adds_a_required_date_the_preview_and_the_completion_refuse_it_missing(
    open_page: Any, world: World
) -> None:
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/forms")
    page.locator(f"#design-{STEM}").click()
    expect(page).to_have_url(re.compile(f"/forms/{STEM}/design$"))
    expect(page.locator("#fd-fields")).to_have_attribute("data-state", "ready")
    expect(page.locator("#fd-draft")).to_have_text("没有草稿：正在编辑已部署的表单")

    _add_date_field(page)
    row = page.locator('#fd-fields li[data-key="decided_on"]')
    expect(row).to_contain_text("决定日期")
    expect(row).to_contain_text("日期 · 必填")
    # keyboard reordering: up moves it before 立案意见 and keeps the focus on the button
    row.get_by_role("button", name="上移 决定日期").click()
    expect(page.locator("#fd-fields li").nth(4)).to_have_attribute("data-key", "decided_on")
    expect(page.get_by_role("button", name="上移 决定日期")).to_be_focused()
    # a key that is not an ASCII identifier is refused beside the field
    page.get_by_label("字段键（英文标识，如 decided_on）").fill("决定日期")
    page.get_by_label("字段键（英文标识，如 decided_on）").press("Tab")
    expect(page.locator("#fd-key-error")).to_have_text(
        "字段键应以英文字母开头，只含字母、数字和下划线"
    )
    page.get_by_label("字段键（英文标识，如 decided_on）").fill("decided_on")
    page.get_by_label("字段键（英文标识，如 decided_on）").press("Tab")
    expect(page.locator("#fd-key-error")).to_be_hidden()
    # a cross-field rule: a petition needs a 立案意见
    page.get_by_label("规则", exact=True).select_option(label="当 A 为某值时，B 必填")
    page.get_by_label("A", exact=True).select_option("source")
    page.get_by_label("取值", exact=True).select_option(label="信访举报")
    page.get_by_label("B", exact=True).select_option("register_note")
    page.get_by_role("button", name="添加规则").click()
    expect(page.locator("#fd-rules")).to_contain_text(
        "当 问题线索来源（source） 为 信访举报 时，立案意见（register_note） 必填"
    )

    preview = page.locator("#preview")
    expect(preview.get_by_label("决定日期")).to_be_visible()
    preview.get_by_label("问题事实").fill("审计发现违规拨付专项资金")
    page.get_by_role("button", name="试填校验").click()
    expect(page.locator("#preview-check")).to_contain_text("试填未通过")
    date_field = page.locator("#preview").get_by_label("决定日期")
    expect(date_field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-decided_on-error")).to_have_text("请填写此项")
    page.locator("#preview").get_by_label("决定日期").fill("2026-03-02")
    page.get_by_role("button", name="试填校验").click()
    expect(page.locator("#preview-check")).to_contain_text("试填通过")

    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#fd-draft")).to_have_text(
        re.compile(r"^第 1 稿，由 designer\.hf 于 .+ 保存$")
    )
    page.get_by_label("版本说明").fill("立案增加决定日期（必填）")
    screenshot(page, "form-designer.png")
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator("#fd-status")).to_contain_text("已部署：accountability 第 2 版")
    expect(page.locator("#fd-draft")).to_have_text("没有草稿：正在编辑已部署的表单")
    with world.rt.db.reading() as session:
        pinned = json.loads(
            catalog.version_row(session, key="accountability", version=2).forms_json
        )
    deployed = pinned[f"{STEM}.schema.json"]
    assert deployed["required"] == ["decided_on"]
    assert deployed["properties"]["decided_on"] == {
        "title": "决定日期",
        "type": "string",
        "format": "date",
    }
    assert deployed["allOf"] == [
        {
            "if": {"properties": {"source": {"const": "petition"}}, "required": ["source"]},
            "then": {"required": ["register_note"]},
        }
    ]
    assert pinned[f"{STEM}.uischema.json"]["decided_on"] == {
        "ui:help": "党委（党组）作出决定的日期"
    }

    case = world.open("accountability", data=FINDING)
    clerk = open_page()
    sign_in(clerk, "discipline.hf")
    clerk.goto(f"/tasks/{world.task(case, 'register').id}")
    expect(clerk.get_by_label("决定日期")).to_be_visible()
    clerk.get_by_role("button", name="办理完成", exact=True).click()
    expect(clerk.locator("#f-decided_on-error")).to_have_text("请填写此项")
    expect(clerk.get_by_label("决定日期")).to_have_attribute("aria-invalid", "true")
    clerk.get_by_label("决定日期").fill("2026-03-02")
    clerk.get_by_role("button", name="办理完成", exact=True).click()
    expect(clerk).to_have_url(re.compile(r"/tasks$"))


def test_a_second_designer_saving_the_same_draft_is_told_and_keeps_the_edits(
    open_page: Any, world: World
) -> None:
    first, second = open_page(), open_page()
    sign_in(first, "designer.hf")
    sign_in(second, "designer.wh")
    for page in (first, second):
        page.goto(f"/forms/{STEM}/design")
        expect(page.locator("#fd-fields")).to_have_attribute("data-state", "ready")
    first.get_by_label("表单标题").fill("立案（甲）")
    first.get_by_label("表单标题").press("Tab")
    first.get_by_role("button", name="保存草稿").click()
    expect(first.locator("#fd-draft")).to_contain_text("第 1 稿")

    second.get_by_label("表单标题").fill("立案（乙）")
    second.get_by_label("表单标题").press("Tab")
    second.get_by_role("button", name="保存草稿").click()
    expect(second.locator("#fd-conflict")).to_be_visible()
    expect(second.locator("#fd-conflict-detail")).to_contain_text("designer.hf")
    expect(second.locator("#fd-conflict-detail")).to_contain_text("第 1 稿")
    expect(second.get_by_label("表单标题")).to_have_value("立案（乙）")  # the edit is kept
    second.get_by_role("button", name="覆盖保存").click()
    expect(second.locator("#fd-draft")).to_have_text(re.compile(r"^第 2 稿，由 designer\.wh"))
    expect(second.locator("#fd-conflict")).to_be_hidden()

    # the first designer is now behind: loading the other draft replaces the page's edits
    first.get_by_role("button", name="保存草稿").click()
    expect(first.locator("#fd-conflict")).to_be_visible()
    first.get_by_role("button", name="载入对方的草稿").click()
    expect(first.get_by_label("表单标题")).to_have_value("立案（乙）")
    expect(first.locator("#fd-draft")).to_have_text(re.compile(r"^第 2 稿，由 designer\.wh"))


def test_a_six_element_row_is_added_renamed_with_its_reason_and_shown_as_the_grid(
    open_page: Any, world: World
) -> None:
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto(f"/forms/{STEM}/design")
    expect(page.locator("#fd-fields")).to_have_attribute("data-state", "ready")
    page.get_by_label("字段类型").select_option(label="六要件表格（一行）")
    page.get_by_role("button", name="添加", exact=True).click()
    key = page.get_by_label("字段键（英文标识，如 decided_on）")
    key.fill("motive")
    key.press("Tab")
    page.get_by_label("标题", exact=True).fill("动机态度")
    page.get_by_label("标题", exact=True).press("Tab")
    page.get_by_label("有利情形").fill("出以公心")
    page.get_by_label("有利情形").press("Tab")
    page.get_by_label("不利情形").fill("缘于私利")
    page.get_by_label("不利情形").press("Tab")
    page.get_by_label("必填", exact=True).check()
    grid = page.locator("#preview table.six-elements")
    expect(grid).to_contain_text("动机态度")
    expect(grid).to_contain_text("出以公心")
    page.get_by_role("button", name="保存草稿").click()
    expect(page.locator("#fd-draft")).to_contain_text("第 1 稿")
    with world.rt.db.reading() as session:
        draft = session.execute(select(FormDraft)).scalar_one()
        schema = json.loads(draft.schema_json)
    assert schema["properties"]["motive"]["oneOf"] == [
        {"const": "favourable", "title": "出以公心"},
        {"const": "unfavourable", "title": "缘于私利"},
    ]
    assert "motive_reason" in schema["properties"] and "element_1" not in schema["properties"]
    assert {"motive", "motive_reason"} <= set(schema["required"])
