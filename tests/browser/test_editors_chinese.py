"""The editors and diagrams in Chinese, in a real browser: bpmn-js' palette, context pad and
popup menu, lanes drawn with their roles' names (the stored lane names stay the role keys),
dmn-js' decision table texts and its coded cells shown as their Chinese labels."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from server import create_app
from tests.browser.conftest import screenshot, serving, sign_in
from tests.support.world import FORMS, World
from workflows.runtime import Runtime


@pytest.fixture
def live(rt: Runtime, world: World) -> Iterator[str]:
    """The app with the shipped forms/, which the shipped processes use."""
    shipped = Runtime(
        dataclasses.replace(rt.settings, forms_dir=FORMS),
        db=rt.db,
        clock=rt.clock,
        hasher=rt.hasher,
    )
    with serving(create_app(shipped)) as url:
        yield url


def _ready(page: Any) -> None:
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")


def _lane_text(page: Any, lane: str) -> Any:
    return page.locator(f'.djs-element[data-element-id="{lane}"] text.djs-label')


def test_modeler_palette_context_pad_popup_and_lanes_are_chinese(
    open_page: Any, world: World
) -> None:
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    _ready(page)
    palette = page.locator(".djs-palette")
    expect(palette.locator('[data-action="create.task"]')).to_have_accessible_name("任务")
    expect(palette.locator('[data-action="hand-tool"]')).to_have_accessible_name(
        "手形工具（拖动画布）"
    )
    expect(palette.locator('[data-action="create.exclusive-gateway"]')).to_have_accessible_name(
        "网关"
    )

    # a lane named by its role key is drawn as the role's name, with the key beside it
    lanes = page.evaluate("""() => window.cadreflowModeler.get('elementRegistry')
        .filter(e => e.type === 'bpmn:Lane')
        .map(e => [e.id, e.businessObject.name])""")
    keyed = dict(lanes)
    discipline = next(lane for lane, name in keyed.items() if name == "discipline")
    expect(_lane_text(page, discipline)).to_have_text("纪检监察机关（discipline）")

    # the context pad and the popup menu of a task
    page.locator('.djs-element[data-element-id="register"]').click()
    pad = page.locator(".djs-context-pad")
    expect(pad.locator('[data-action="append.append-task"]')).to_have_accessible_name("追加任务")
    expect(pad.locator('[data-action="delete"]')).to_have_accessible_name("删除")
    pad.locator('[data-action="replace"]').click()
    menu = page.locator(".djs-popup")
    expect(menu).to_contain_text("更改元素类型")
    expect(menu).to_contain_text("服务任务")
    screenshot(page, "modeler-zh.png")
    page.keyboard.press("Escape")

    # the stored lane name is still the key, and renaming it keeps drawing the role's name
    page.evaluate(
        """(lane) => {
        const modeler = window.cadreflowModeler;
        const element = modeler.get('elementRegistry').get(lane);
        modeler.get('modeling').updateLabel(element, 'committee');
    }""",
        discipline,
    )
    expect(_lane_text(page, discipline)).to_have_text("党委(党组)（committee）")
    saved = page.evaluate("async () => (await window.cadreflowModeler.saveXML()).xml")
    assert re.search(rf'<bpmn:lane id="{discipline}" name="committee"', saved)
    assert not re.search(r'<bpmn:lane [^>]*name="[^"]*[\u4e00-\u9fff]', saved)

    # a lane named otherwise is drawn as named
    page.evaluate(
        """(lane) => {
        const modeler = window.cadreflowModeler;
        const element = modeler.get('elementRegistry').get(lane);
        modeler.get('modeling').updateLabel(element, 'reviewers');
    }""",
        discipline,
    )
    expect(_lane_text(page, discipline)).to_have_text("reviewers")


def test_english_pages_keep_the_editor_texts_english_and_lanes_named_by_role(
    open_page: Any, world: World
) -> None:
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit?lang=en")
    _ready(page)
    expect(page.locator('.djs-palette [data-action="create.task"]')).to_have_accessible_name(
        "Create task"
    )
    expect(page.locator(".djs-element.djs-shape text.djs-label").first).to_be_visible()
    expect(page.locator("text.djs-label", has_text="纪检监察机关（discipline）")).to_have_count(1)


def test_decision_table_texts_are_chinese_and_coded_cells_show_their_labels(
    open_page: Any, world: World
) -> None:
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/decisions/six_elements/edit")
    _ready(page)
    expect(page.locator(".tjs-container")).to_be_visible()
    expect(page.locator(".view-drd-button")).to_have_text("查看决策需求图")
    expect(page.locator(".hit-policy")).to_contain_text("命中策略：")
    expect(page.locator(".hit-policy")).to_contain_text("首条命中（First）")
    expect(page.locator(".tjs-container")).to_contain_text("当")
    expect(page.locator(".tjs-container")).to_contain_text("则")

    # the nature column's "unfavourable" reads as its pole; an opinion as its name
    nature = page.locator('td[data-element-id="red_line_nature_nature"]')
    expect(nature).to_contain_text('"unfavourable"')  # the cell keeps the code
    expect(nature).to_have_attribute("data-cf-label", "违纪违法行为")
    shown = nature.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert shown == '"违纪违法行为"'
    opinions = page.locator("td.output-cell[data-cf-label]")
    expect(opinions.first).to_be_visible()
    blank = page.locator('td[data-element-id="red_line_nature_motive"]')
    expect(blank).to_have_text("-")  # not a code: shown as it is
    expect(blank).not_to_have_attribute("data-cf-label", re.compile(".*"))
    labels = set(opinions.evaluate_all("cells => cells.map(c => c.dataset.cfLabel)"))
    assert labels <= {"免责", "从轻或减轻处理", "不予容错"} and "不予容错" in labels
    screenshot(page, "dmn-zh.png")

    # editing a cell shows the code; the stored table keeps codes
    nature.locator(".content-editable").click()
    after = nature.evaluate("cell => getComputedStyle(cell, '::before').content")
    assert after in ("none", "normal")
    xml = page.evaluate("async () => (await window.cadreflowModeler.saveXML()).xml")
    assert '<inputEntry id="red_line_nature_nature"><text>"unfavourable"</text>' in xml
    assert '<text>"违纪违法行为"</text>' not in xml

    # the DRD view is Chinese too
    page.locator(".view-drd-button").click()
    expect(page.locator('.djs-palette [data-action="create.decision"]')).to_have_accessible_name(
        "决策"
    )


FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def test_case_diagram_has_chinese_lanes_zoom_controls_and_the_approval_record(
    open_page: Any, world: World
) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    page = open_page()
    sign_in(page, "discipline.hf")
    page.goto(f"/cases/{case.id}")
    diagram = page.locator("#diagram[data-ready='true']")
    expect(diagram).to_be_visible()
    expect(diagram.locator("g.djs-element[data-element-id='register']")).to_have_class(
        re.compile(r"\bcf-done\b")
    )
    # lanes read as the roles' names; the stored names are the keys
    expect(_lane_text(page, "Lane_discipline")).to_have_text("纪检监察机关")
    expect(_lane_text(page, "Lane_committee")).to_have_text("党委(党组)")
    expect(page.locator("#diagram text.djs-label", has_text="discipline")).to_have_count(0)
    names = page.evaluate("""() => window.cadreflowDiagram.get('elementRegistry')
        .filter(e => e.type === 'bpmn:Lane').map(e => e.businessObject.name)""")
    assert "discipline" in names

    # opened legible (never below 0.6), zoom buttons change the scale, 适应窗口 shows it all
    def zoom() -> float:
        return float(page.evaluate("() => window.cadreflowDiagram.get('canvas').zoom()"))

    opened = zoom()
    assert opened >= 0.6 - 1e-6
    page.get_by_role("button", name="放大").click()
    assert zoom() == pytest.approx(opened * 1.25, rel=0.01)
    page.get_by_role("button", name="缩小").click()
    page.get_by_role("button", name="缩小").click()
    assert zoom() == pytest.approx(opened * 1.25 * 0.8 * 0.8, rel=0.01)
    page.get_by_role("button", name="适应窗口").click()
    fitted = page.evaluate("""() => {
        const canvas = window.cadreflowDiagram.get('canvas');
        const box = canvas.viewbox();
        return box.inner.width * box.scale <= box.outer.width + 1
            && box.inner.height * box.scale <= box.outer.height + 1;
    }""")
    assert fitted

    # 审批记录 beside the diagram: who did what, when
    record = page.locator("#approvals")
    expect(record.get_by_role("heading")).to_have_text("审批记录")
    expect(record).to_contain_text("办理：立案")
    expect(record).to_contain_text("discipline hf（合肥市·纪检监察机关）")
    expect(record.locator("li").first).to_contain_text("立案")  # newest first
    page.reload()
    expect(diagram).to_be_visible()
    page.locator(".diagram-card").scroll_into_view_if_needed()
    screenshot(page, "case-diagram.png")
