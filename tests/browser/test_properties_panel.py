"""The BPMN editor's properties panel in a real browser: a user task's form and time limit,
a lane's role, a gateway flow's condition checked by the server as one types, and the saved
XML carrying them as spiffworkflow properties (the server reads them unchanged)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server import create_app
from tests.browser.conftest import screenshot, serving, sign_in
from tests.support.world import FORMS, World
from workflows.engine.models import ProcessVersion
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


#: The panel's input debounce (300 ms) and the check's wait after the last keystroke (400 ms).
SETTLED_MS = 700


def _typed(page: Any, field: Any, text: str) -> None:
    """Types `text` into `field` and lets the page's clock (installed by the test) run past
    the panel's debounce and the check's wait, as a pause after typing would: the page's
    timers fire as they would, without the test waiting for them in real time."""
    field.fill(text)
    page.clock.run_for(SETTLED_MS)


def _saved(page: Any) -> str:
    return str(page.evaluate("async () => (await window.cadreflowModeler.saveXML()).xml"))


def test_panel_sets_form_time_limit_role_and_checks_a_condition(
    open_page: Any, world: World
) -> None:
    page = open_page()
    page.clock.install()  # the panel's waits are run through: see _typed
    sign_in(page, "designer.hf")
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
    _typed(page, limit, "5 weeks")
    expect(panel).to_contain_text("单位为工作日、月或日")
    _typed(page, limit, "20 个工作日")
    expect(panel).not_to_contain_text("单位为工作日、月或日")
    page.clock.run_for(400)  # the panel's input debounce

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
    _typed(page, condition, "consideration ==")
    expect(panel.locator(".cf-check-bad")).to_contain_text("语法")
    _typed(page, condition, "case.kind == 'review'")
    expect(panel.locator(".cf-check-bad")).to_contain_text("不允许使用属性访问")
    expect(panel).to_contain_text("顺序流启动容错审查基本信息")  # the panel speaks Chinese too
    screenshot(page, "properties-panel.png")
    _typed(page, condition, "consideration == 'review' and late")
    expect(panel.locator(".cf-check-ok")).to_have_text("表达式有效")
    page.clock.run_for(400)

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
    page.clock.install()  # the panel's waits are run through: see _typed
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    panel = page.locator("#properties")
    _select(page, "appeal_window")
    expect(panel.locator("#bio-properties-panel-cadreflow-timer-kind")).to_have_value("timeDate")
    timer = panel.locator("#bio-properties-panel-cadreflow-timer")
    expect(timer).to_have_value("end_of_day(add_months(received_on, appeal_window_months))")
    _typed(page, timer, "end_of_day(add_months(received_on, ")
    expect(panel.locator(".cf-check-bad")).to_be_visible()
    _typed(page, timer, "lambda: 5")
    expect(panel.locator(".cf-check-bad")).to_contain_text("不允许使用lambda")
    _typed(page, timer, "end_of_day(add_months(received_on, 2))")
    expect(panel.locator(".cf-check-ok")).to_have_text("表达式有效")
    page.clock.run_for(400)
    xml = _saved(page)
    assert (
        '<bpmn:timeDate xsi:type="bpmn:tFormalExpression">'
        "end_of_day(add_months(received_on, 2))</bpmn:timeDate>" in xml
    )


def test_an_administrator_sees_the_panel_without_checks(open_page: Any, world: World) -> None:
    page = open_page()
    sign_in(page, "admin.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    _select(page, "flow_review")
    condition = page.locator("#bio-properties-panel-cadreflow-condition")
    condition.fill("consideration ==")
    page.wait_for_timeout(900)
    expect(page.locator(".cf-check")).to_have_count(0)


def _validated(page: Any, xml: str) -> Any:
    """The server's 校验 of `xml` as accountability.bpmn: [status, body]."""
    return page.evaluate(
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


def _property(name: str, value: str) -> str:
    return f'<spiffworkflow:property name="{name}" value="{value}" />'


def test_panel_sets_action_assignee_capacity_reminder_and_shared_due_date(
    open_page: Any, world: World
) -> None:
    page = open_page()
    page.clock.install()  # the panel's waits are run through: see _typed
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    panel = page.locator("#properties")
    _select(page, "investigate")

    ui_form = panel.locator("#bio-properties-panel-cadreflow-formUiSchemaFilename")
    expect(ui_form).to_have_value("accountability_investigate.uischema.json")
    ui_form.select_option("")  # laid out by the schema alone
    action = panel.locator("#bio-properties-panel-cadreflow-action")
    expect(action).to_have_value("")
    expect(action.locator("option", has_text="tolerance.accept")).to_have_count(1)
    expect(action.locator("option", has_text="accountability_close")).to_have_count(0)  # automatic
    action.select_option("accountability_register")

    assignee = panel.locator("#bio-properties-panel-cadreflow-assigneeFrom")
    _typed(page, assignee, "调查人")
    expect(panel).to_contain_text("请填写字段名：字母开头，只含字母、数字和下划线")
    _typed(page, assignee, "investigator")
    expect(panel).not_to_contain_text("请填写字段名")

    panel.locator("#bio-properties-panel-cadreflow-capacity").select_option("decided")

    reminder = panel.locator("#bio-properties-panel-cadreflow-timeLimitReminder")
    expect(reminder).to_have_value("5")
    _typed(page, reminder, "0")
    expect(panel).to_contain_text("请填写 1 至 2500 之间的整数（工作日数）")
    _typed(page, reminder, "3")
    expect(panel).not_to_contain_text("请填写 1 至 2500")

    since = panel.locator("#bio-properties-panel-cadreflow-timeLimitFrom")
    expect(since).to_have_value("registered_on")
    expect(panel.locator("#cadreflow-timeLimitFrom-check")).to_have_text("表达式有效")
    _typed(page, since, "registered_on.year")
    expect(panel.locator("#cadreflow-timeLimitFrom-check")).to_contain_text("不允许使用属性访问")
    _typed(page, since, "registered_on")
    expect(panel.locator("#cadreflow-timeLimitFrom-check")).to_have_text("表达式有效")
    page.clock.run_for(400)  # the panel's input debounce

    # the step sharing investigate's due date: chosen among the process's other user tasks
    _select(page, "consider_tolerance")
    same = panel.locator("#bio-properties-panel-cadreflow-timeLimitSameAs")
    expect(same).to_have_value("investigate")
    expect(same.locator("option", has_text="立案（register）")).to_have_count(1)
    expect(same.locator("option", has_text="consider_tolerance")).to_have_count(0)
    same.select_option("register")
    page.clock.run_for(400)

    xml = _saved(page)
    investigate = xml[xml.index('<bpmn:userTask id="investigate"') :]
    investigate = investigate[: investigate.index("</bpmn:userTask>")]
    assert 'name="formUiSchemaFilename"' not in investigate
    for name, value in (
        ("formJsonSchemaFilename", "accountability_investigate.schema.json"),
        ("action", "accountability_register"),
        ("assigneeFrom", "investigator"),
        ("capacity", "decided"),
        ("timeLimitReminder", "3"),
        ("timeLimitFrom", "registered_on"),
        ("timeLimit", "30 workdays"),
    ):
        assert _property(name, value) in investigate, name
    assert _property("timeLimitSameAs", "register") in xml
    checked = _validated(page, xml)
    assert checked[0] == 200 and checked[1]["errors"] == 0, checked


def test_a_bad_due_date_or_script_shows_the_evaluators_message(
    open_page: Any, world: World
) -> None:
    page = open_page()
    page.clock.install()  # the panel's waits are run through: see _typed
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    panel = page.locator("#properties")

    _select(page, "investigate")
    due = panel.locator("#bio-properties-panel-cadreflow-dueAt")
    _typed(page, due, "add_workdays(registered_on, ")
    expect(panel.locator("#cadreflow-dueAt-check")).to_contain_text("语法")
    _typed(page, due, "[d for d in dates]")
    expect(panel.locator("#cadreflow-dueAt-check")).to_contain_text("不允许使用列表推导式")
    _typed(page, due, "")
    expect(panel.locator("#cadreflow-dueAt-check")).to_have_count(0)

    # a script task: its registered automatic action and its script, checked as a script
    _select(page, "check_finding")
    action = panel.locator("#bio-properties-panel-cadreflow-action")
    expect(action).to_have_value("accountability_check_start")
    expect(action.locator("option", has_text="accountability_register")).to_have_count(0)
    script = panel.locator("#bio-properties-panel-cadreflow-script")
    expect(script).to_have_value("# 由动作 accountability_check_start 核验")
    _typed(page, script, "import os\nfound = os.name")
    expect(panel.locator("#cadreflow-script-check")).to_contain_text("不允许使用import 导入")
    _typed(page, script, "checked = True")
    expect(panel.locator("#cadreflow-script-check")).to_have_text("表达式有效")
    page.clock.run_for(400)
    assert "<bpmn:script>checked = True</bpmn:script>" in _saved(page)

    # an action nobody registered is shown as such (deploying refuses it)
    page.evaluate(
        """async () => {
            const m = window.cadreflowModeler;
            const xml = (await m.saveXML()).xml.replace(
                'value="accountability_check_start"', 'value="no_such_action"');
            await m.importXML(xml);
        }"""
    )
    _select(page, "check_finding")
    expect(panel.locator("#bio-properties-panel-cadreflow-action")).to_have_value("no_such_action")
    expect(panel.locator("#bio-properties-panel-cadreflow-action option:checked")).to_have_text(
        "no_such_action（未登记的动作，部署时将被拒绝）"
    )


def test_a_step_set_in_the_panel_is_deployed_and_a_new_case_uses_it(
    open_page: Any, world: World, rt: Runtime
) -> None:
    page = open_page()
    page.clock.install()  # the panel's waits are run through: see _typed
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")
    panel = page.locator("#properties")
    _select(page, "register")
    panel.locator("#bio-properties-panel-cadreflow-form").select_option(
        "accountability_decide.schema.json"
    )
    # typed one after the other, each field committed as the next one is entered
    panel.locator("#bio-properties-panel-cadreflow-timeLimit").fill("7 workdays")
    panel.locator("#bio-properties-panel-cadreflow-timeLimitFromLabel").fill("收到线索之日")
    panel.locator("#bio-properties-panel-cadreflow-assigneeFrom").fill("handler")
    page.clock.run_for(400)  # the panel's input debounce
    page.get_by_label("版本说明").fill("立案改用决定表单，时限 7 个工作日，由 handler 办理")
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator("#modeler-status")).to_contain_text("已部署：accountability 第 2 版")
    with rt.db.reading() as session:
        note = session.execute(
            select(ProcessVersion.note).where(
                ProcessVersion.process_key == "accountability", ProcessVersion.version == 2
            )
        ).scalar_one()
    assert note == "立案改用决定表单，时限 7 个工作日，由 handler 办理"

    case = world.open(
        "accountability",
        data={
            "source": "audit",
            "facts": "审计发现违规拨付专项资金",
            "evidence": "审计报告〔2026〕3号",
            "handler": "discipline.hf",
        },
    )
    task = world.task(case, "register")
    assert task.form == "accountability_decide.schema.json"
    assert task.assignee == "discipline.hf"
    assert task.due_basis is not None and task.due_basis.startswith("收到线索之日 ")
    assert task.due_basis.endswith("起7个工作日"), task.due_basis
