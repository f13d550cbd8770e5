"""The BPMN editor's properties panel in a real browser: a user task's form and time limit,
a lane's role, a gateway flow's condition checked by the server as one types, and the saved
XML carrying them as spiffworkflow properties (the server reads them unchanged)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from server import create_app
from tests.browser.conftest import log_in, screenshot, serving
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


def _select(page: Any, element_id: str) -> None:
    page.evaluate(
        """(id) => {
            const m = window.cadreflowModeler;
            m.get('selection').select(m.get('elementRegistry').get(id));
        }""",
        element_id,
    )


def _saved(page: Any) -> str:
    return str(page.evaluate("async () => (await window.cadreflowModeler.saveXML()).xml"))


def test_panel_sets_form_time_limit_role_and_checks_a_condition(
    open_page: Any, world: World
) -> None:
    page = open_page()
    log_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    panel = page.locator("#properties")

    # a user task: its form and its time limit
    page.locator('.djs-element[data-element-id="investigate"]').click()
    form = panel.locator("#bio-properties-panel-cadreflow-form")
    expect(form).to_have_value("accountability_investigate.schema.json")
    form.select_option("accountability_decide.schema.json")
    limit = panel.locator("#bio-properties-panel-cadreflow-timeLimit")
    expect(limit).to_have_value("30 workdays")
    limit.fill("5 weeks")
    expect(panel).to_contain_text("单位为工作日、月或日")
    limit.fill("20 个工作日")
    expect(panel).not_to_contain_text("单位为工作日、月或日")
    page.wait_for_timeout(400)  # the panel's input debounce

    # a lane: its role, from the roles in Chinese
    _select(page, "Lane_committee")
    role = panel.locator("#bio-properties-panel-cadreflow-lane-role")
    expect(role).to_have_value("committee")
    expect(role.locator("option", has_text="纪检监察机关（discipline）")).to_have_count(1)
    role.select_option("organization")

    # a gateway flow's condition, checked by the server's evaluator as one types
    _select(page, "flow_review")
    condition = panel.locator("#bio-properties-panel-cadreflow-condition")
    expect(condition).to_have_value("consideration == 'review'")
    condition.fill("consideration ==")
    expect(panel.locator(".cf-check-bad")).to_contain_text("语法")
    condition.fill("case.kind == 'review'")
    expect(panel.locator(".cf-check-bad")).to_contain_text("不允许使用属性访问")
    expect(panel).to_contain_text("顺序流启动容错审查基本信息")  # the panel speaks Chinese too
    screenshot(page, "properties-panel.png")
    condition.fill("consideration == 'review' and late")
    expect(panel.locator(".cf-check-ok")).to_have_text("表达式有效")
    page.wait_for_timeout(400)

    xml = _saved(page)
    assert (
        '<spiffworkflow:property name="formJsonSchemaFilename" '
        'value="accountability_decide.schema.json" />' in xml
    )
    assert (
        '<spiffworkflow:property name="formUiSchemaFilename" '
        'value="accountability_decide.uischema.json" />' in xml
    )
    assert '<spiffworkflow:property name="timeLimit" value="20 个工作日" />' in xml
    assert '<spiffworkflow:property name="timeLimitFrom" value="registered_on" />' in xml
    assert '<bpmn:lane id="Lane_committee" name="organization">' in xml
    assert "consideration == 'review' and late</bpmn:conditionExpression>" in xml

    # the server reads what the panel wrote: the edited file passes 校验
    checked = page.evaluate(
        """async (xml) => {
            const csrf = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch('/api/v1/processes/validate', {
                method: 'POST',
                headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                body: JSON.stringify({files: [{name: 'accountability.bpmn', content: xml}]}),
            });
            return [response.status, await response.json()];
        }""",
        xml,
    )
    assert checked[0] == 200 and checked[1]["errors"] == 0, checked


def test_panel_edits_and_checks_a_timer(open_page: Any, world: World) -> None:
    page = open_page()
    log_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    panel = page.locator("#properties")
    _select(page, "appeal_window")
    expect(panel.locator("#bio-properties-panel-cadreflow-timer-kind")).to_have_value("timeDate")
    timer = panel.locator("#bio-properties-panel-cadreflow-timer")
    expect(timer).to_have_value("end_of_day(add_months(received_on, appeal_window_months))")
    timer.fill("end_of_day(add_months(received_on, ")
    expect(panel.locator(".cf-check-bad")).to_be_visible()
    timer.fill("lambda: 5")
    expect(panel.locator(".cf-check-bad")).to_contain_text("不允许使用lambda")
    timer.fill("end_of_day(add_months(received_on, 2))")
    expect(panel.locator(".cf-check-ok")).to_have_text("表达式有效")
    page.wait_for_timeout(400)
    xml = _saved(page)
    assert (
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">'
        "end_of_day(add_months(received_on, 2))</bpmn:timeDate>" in xml
    )


def test_an_administrator_sees_the_panel_without_checks(open_page: Any, world: World) -> None:
    page = open_page()
    log_in(page, "admin.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    _select(page, "flow_review")
    condition = page.locator("#bio-properties-panel-cadreflow-condition")
    condition.fill("consideration ==")
    page.wait_for_timeout(900)
    expect(page.locator(".cf-check")).to_have_count(0)
