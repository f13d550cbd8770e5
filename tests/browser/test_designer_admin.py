"""A designer and an administrator in a real browser: edit accountability in bpmn-js, validate,
deploy and find the new version; a refused edit marked on the canvas; the decision table in
dmn-js; a calendar override and the audit chain checked."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from server import create_app
from tests.browser.conftest import PHONE, log_in, screenshot, serving, sign_in
from tests.support.world import BPMN, FORMS, World
from workflows.engine.models import AuditEvent, CalendarOverride, ProcessVersion
from workflows.runtime import Runtime

REFUSED = "consideration.__class__ == 'review'"


@pytest.fixture
def live(rt: Runtime, world: World) -> Iterator[str]:
    """The app served in a thread with the shipped forms/, which the shipped processes use."""
    shipped = Runtime(
        dataclasses.replace(rt.settings, forms_dir=FORMS),
        db=rt.db,
        clock=rt.clock,
        hasher=rt.hasher,
    )
    with serving(create_app(shipped)) as url:
        yield url


def _open_modeler(page: Any) -> None:
    expect(page.locator("#canvas")).to_have_attribute("data-state", "ready")


def test_designer_renames_a_task_validates_deploys_and_finds_the_new_version(
    open_page: Any, world: World, rt: Runtime
) -> None:
    world.open(
        "accountability",
        data={
            "source": "audit",
            "facts": "审计发现违规拨付专项资金",
            "evidence": "审计报告〔2026〕3号",
        },
    )
    page = open_page()
    log_in(page, "designer.hf")
    expect(page).to_have_url(re.compile(r"/processes$"))
    row = page.locator("#process-accountability")
    expect(row.locator(".latest")).to_have_text("第 1 版")
    expect(row).to_contain_text("运行中 1")
    screenshot(page, "processes.png")

    row.get_by_role("link", name=re.compile("编辑")).click()
    _open_modeler(page)
    expect(page.locator('.djs-element[data-element-id="register"]')).to_be_visible()
    page.evaluate("""() => {
        const modeler = window.cadreflowModeler;
        const task = modeler.get('elementRegistry').get('register');
        modeler.get('modeling').updateLabel(task, '立案登记');
    }""")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#problems-summary")).to_have_text("校验通过，没有发现问题。")
    expect(page.locator("#problems li.problem-server")).to_have_count(0)
    screenshot(page, "modeler.png")

    # leaving with the change not deployed asks first; staying keeps the change
    expect(page.locator("#canvas")).to_have_attribute("data-dirty", "true")
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.type), dialog.dismiss()))
    with page.expect_event("dialog"):
        page.get_by_role("link", name="流程设计").first.click()
    assert asked == ["beforeunload"]
    expect(page).to_have_url(re.compile(r"/processes/accountability/edit$"))

    # the 版本说明 is required: refused beside its field, nothing deployed
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator("#deploy-note-error")).to_have_text("请填写版本说明（1-500 字）。")
    expect(page.locator("#deploy-note")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("版本说明").fill("立案改称立案登记")
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator("#modeler-status")).to_contain_text("已部署：accountability 第 2 版")
    expect(page.locator("#modeler-version")).to_have_text(
        "当前为已部署的第 2 版（accountability.bpmn）。"
    )
    expect(page.locator("#deploy-note-error")).to_be_hidden()
    expect(page.locator("#canvas")).to_have_attribute("data-dirty", "false")
    page.get_by_role("link", name="返回流程列表").click()
    expect(page.locator("#process-accountability .latest")).to_have_text("第 2 版")
    expect(page.locator("#process-accountability .versions li")).to_have_count(2)
    expect(page.locator("#version-accountability-2")).to_contain_text("版本说明：立案改称立案登记")
    page.locator("#version-accountability-2").get_by_role("link", name="与上一版比较").click()
    expect(page.locator("#diff-changed")).to_contain_text("立案 → 立案登记")
    with rt.db.reading() as session:
        latest = (
            session.execute(
                select(ProcessVersion)
                .where(ProcessVersion.process_key == "accountability")
                .order_by(ProcessVersion.version.desc())
            )
            .scalars()
            .first()
        )
        assert latest is not None and latest.version == 2 and latest.deployed_by == "designer.hf"
        assert 'name="立案登记"' in latest.bpmn_xml
        assert (
            session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalar()
            == "process.deploy"
        )


def test_refused_expression_is_listed_with_its_element_and_marked_on_the_canvas(
    open_page: Any, world: World, rt: Runtime
) -> None:
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    _open_modeler(page)
    page.evaluate(
        """(body) => {
        const modeler = window.cadreflowModeler;
        const flow = modeler.get('elementRegistry').get('flow_review');
        const condition = modeler.get('moddle').create('bpmn:FormalExpression', { body });
        modeler.get('modeling').updateProperties(flow, { conditionExpression: condition });
    }""",
        REFUSED,
    )
    page.get_by_role("button", name="校验").click()
    problem = page.locator("#problems li.problem-server")
    expect(problem).to_have_count(1)
    expect(problem).to_contain_text("flow_review")
    expect(problem).to_contain_text("错误 flow_review")
    expect(problem).to_contain_text("不允许使用属性访问")
    expect(page.locator('.djs-element[data-element-id="flow_review"]')).to_have_class(
        re.compile(r"\bcf-problem\b")
    )
    expect(page.locator('.djs-element[data-element-id="register"]')).not_to_have_class(
        re.compile("cf-problem")
    )

    problem.get_by_role("button", name="flow_review").click()
    assert page.evaluate("() => window.cadreflowModeler.get('selection').get().map(e => e.id)") == [
        "flow_review"
    ]

    page.get_by_label("版本说明").fill("改条件")
    page.get_by_role("button", name="部署", exact=True).click()
    expect(page.locator("#modeler-status")).to_contain_text("未部署：发现 1 个问题")
    with rt.db.reading() as session:
        versions = (
            session.execute(
                select(ProcessVersion.version).where(ProcessVersion.process_key == "accountability")
            )
            .scalars()
            .all()
        )
    assert versions == [1]


def test_a_deployment_with_warnings_asks_for_a_confirmation_listing_them(
    open_page: Any, world: World, rt: Runtime, tmp_path: Path
) -> None:
    shipped = (BPMN / "accountability.bpmn").read_text(encoding="utf-8")
    no_form = re.sub(
        r'<spiffworkflow:property name="form\w+" value="accountability_investigate[^"]*"/>',
        "",
        shipped,
    )
    assert no_form != shipped
    upload = tmp_path / "accountability.bpmn"
    upload.write_text(no_form, encoding="utf-8")
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/processes/accountability/edit")
    _open_modeler(page)
    page.locator("#upload").set_input_files(str(upload))
    expect(page.locator("#modeler-status")).to_contain_text("已载入上传的文件")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#problems-summary")).to_have_text(
        "没有错误，有 1 个警告（部署时需确认）："
    )
    expect(page.locator("#problems li.problem-server")).to_contain_text("警告 investigate 责任调查")
    page.get_by_label("版本说明").fill("调查不再填表")
    page.get_by_role("button", name="部署", exact=True).click()
    confirm = page.locator("#deploy-confirm")
    expect(confirm).to_be_visible()
    expect(confirm.locator("li")).to_have_count(1)
    expect(confirm.locator("li")).to_contain_text("没有表单")
    screenshot(page, "deploy-confirm.png")
    with rt.db.reading() as session:
        assert _versions(session) == [1]
    page.get_by_role("button", name="确认并部署").click()
    expect(page.locator("#modeler-status")).to_contain_text("已部署：accountability 第 2 版")
    expect(confirm).to_be_hidden()
    with rt.db.reading() as session:
        assert _versions(session) == [1, 2]
        row = session.execute(
            select(ProcessVersion).where(ProcessVersion.version == 2)
        ).scalar_one()
        assert (row.note, row.confirmed_warnings) == ("调查不再填表", 1)


def _versions(session: Any) -> list[int]:
    return sorted(
        session.execute(
            select(ProcessVersion.version).where(ProcessVersion.process_key == "accountability")
        )
        .scalars()
        .all()
    )


def test_decision_table_opens_in_dmn_js_and_validates_with_its_process(
    open_page: Any, world: World
) -> None:
    page = open_page()
    sign_in(page, "designer.hf")
    page.goto("/processes")
    page.locator("#decision-six_elements").get_by_role("link", name=re.compile("编辑")).click()
    _open_modeler(page)
    expect(page.locator(".tjs-container")).to_be_visible()  # the decision table view
    expect(page.locator('td[data-element-id="red_line_nature_nature"]')).to_contain_text(
        '"unfavourable"'
    )
    expect(page.locator(".note")).to_contain_text("容错免责")
    page.get_by_role("button", name="校验").click()
    expect(page.locator("#problems-summary")).to_have_text("校验通过，没有发现问题。")
    screenshot(page, "dmn.png")


def test_admin_adds_a_calendar_override_and_verifies_the_audit_chain(
    open_page: Any, world: World, rt: Runtime
) -> None:
    page = open_page()
    log_in(page, "admin.hf")
    expect(page).to_have_url(re.compile(r"/admin$"))
    page.get_by_role("navigation", name="系统管理").get_by_role("link", name="用户").click()
    expect(page.locator("#user-discipline\\.hf")).to_contain_text("纪检监察机关")
    screenshot(page, "admin-users.png")

    page.get_by_role("link", name="工作日历").click()
    page.get_by_label("年度", exact=True).first.fill("2027")
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("工作日历 · 2027 年")
    form = page.locator("form", has=page.get_by_role("button", name="保存"))
    form.get_by_label("日期").fill("2027-10-01")
    form.get_by_label("假日（不上班）").check()
    form.get_by_label("说明").fill("国庆节")
    form.get_by_role("button", name="保存").click()
    expect(page.locator("#messages")).to_contain_text("已将 2027-10-01 设为假日（不上班）")
    expect(page.locator("#day-2027-10-01")).to_contain_text("国庆节")
    screenshot(page, "admin-calendar.png")
    with rt.db.reading() as session:
        override = session.get(CalendarOverride, __import__("datetime").date(2027, 10, 1))
        assert override is not None and not override.is_workday and override.note == "国庆节"

    page.get_by_role("link", name="审计日志").click()
    page.get_by_label("操作", exact=True).select_option(label="设置日历日")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("table.audit tbody tr")).to_have_count(1)
    expect(page.locator("table.audit tbody tr")).to_contain_text("admin.hf")
    expect(page.locator("table.audit tbody tr")).to_contain_text("设置日历日")
    page.get_by_role("button", name="校验哈希链").click()
    expect(page.locator("#messages")).to_contain_text(re.compile(r"审计链完整：已验证 \d+ 条记录"))
    expect(page.get_by_label("操作", exact=True)).to_have_value(
        "calendar.set_day"
    )  # the search is kept
    screenshot(page, "audit.png")


@pytest.mark.parametrize(
    ("username", "paths"),
    [
        (
            "designer.hf",
            [
                "/processes",
                "/processes/accountability/edit",
                "/forms/accountability_decide.schema.json",
            ],
        ),
        (
            "admin.hf",
            [
                "/admin/users",
                "/admin/units",
                "/admin/calendar?year=2027",
                "/admin/deadlines",
                "/admin/audit",
            ],
        ),
    ],
)
def test_designer_and_admin_pages_fit_a_phone(
    open_page: Any, world: World, username: str, paths: list[str]
) -> None:
    page = open_page(viewport=PHONE)
    sign_in(page, username)
    for path in paths:
        page.goto(path)
        widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
            view: document.documentElement.clientWidth})""")
        assert widths["page"] <= widths["view"], (path, widths)
