"""A clerk completes an overdue task through its form (one error first), the case page shows
the diagram with the step done; the cadre lands on 我的案件 and appeals a decision from there."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from server.ui import case_new
from tests.browser.conftest import PHONE, log_in, screenshot, sign_in
from tests.conftest import advance_clock
from tests.support.world import World
from workflows.cadres.models import Cadre
from workflows.runtime import Runtime

CADRE = re.compile(r"^当事干部")  # not the search box beside it, 查找当事干部
FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def test_clerk_completes_an_overdue_task_after_fixing_the_form(
    open_page: Any, world: World, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    advance_clock(rt, days=45)  # past the 30 working days of the investigation
    page = open_page()
    log_in(page, "discipline.hf")
    row = (
        page.locator("table.tasks tbody tr")
        .filter(has_text=case.number)
        .filter(has_text="责任调查")
    )
    expect(row.locator(".mark")).to_have_text("逾期")
    row.get_by_role("link", name="责任调查").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("责任调查")
    expect(page.locator("h1 .mark")).to_have_text("逾期")
    expect(page.locator(".work-side")).to_contain_text("审计发现违规拨付专项资金")
    screenshot(page, "task.png")

    page.get_by_label("调查结论").fill("违")
    page.get_by_label("主要领导责任").check()
    page.get_by_role("button", name="办理完成", exact=True).click()
    expect(page.locator("#f-findings-error")).to_have_text("至少填写 2 个字")
    expect(page.get_by_label("调查结论")).to_be_focused()
    expect(page.get_by_label("调查结论")).to_have_value("违")
    expect(page.get_by_label("调查结论")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("主要领导责任")).to_be_checked()
    expect(page.locator(".error-summary")).to_contain_text("共 1 处")
    screenshot(page, "task-errors.png")

    page.get_by_label("调查结论").fill("违规拨付专项资金属实，负主要领导责任")
    page.get_by_role("button", name="办理完成", exact=True).click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.locator("#messages")).to_contain_text(f"已办结：责任调查（{case.number}）")
    expect(page.locator("#messages .flash")).to_have_count(1)  # said once
    assert world.task(case, "consider_tolerance").state == "open"

    page.goto(f"/cases/{case.id}")
    diagram = page.locator("#diagram[data-ready='true']")
    expect(diagram).to_be_visible()
    done = diagram.locator("g.djs-element[data-element-id='investigate']")
    expect(done).to_have_class(re.compile(r"\bcf-done\b"))
    expect(diagram.locator("g.djs-element[data-element-id='consider_tolerance']")).to_have_class(
        re.compile(r"\bcf-active\b")
    )
    expect(page.locator(".case-tasks")).to_contain_text("容错情形")
    expect(page.locator("#timeline")).to_contain_text("办理：责任调查")
    screenshot(page, "case.png")


def test_task_page_fits_a_phone(open_page: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    page = open_page(viewport=PHONE)
    sign_in(page, "discipline.hf")
    page.goto(f"/tasks/{world.task(case, 'investigate').id}")
    expect(page.get_by_label("调查结论")).to_be_visible()
    widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                       view: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["view"], widths


def test_cadre_lands_on_my_cases_and_appeals_from_there(open_page: Any, world: World) -> None:
    decided = world.decided_accountability()
    running = world.open("accountability", data=FINDING)
    world.complete(running, "register", {}, "discipline.hf")
    page = open_page()
    log_in(page, "zhang")
    expect(page).to_have_url(re.compile(r"/mine$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("我的案件")
    nav = page.locator(".main-nav")
    expect(nav.get_by_role("link")).to_have_text(["我的案件"])
    decision = page.locator(".own-decisions .decision")
    expect(decision).to_contain_text("对违规拨付负主要领导责任")
    expect(decision).to_contain_text("合肥市委 2026-03-02 作出")
    expect(page.locator(".my-cases")).to_contain_text(running.number)
    for internal in ("责任调查", "discipline.hf", "督办", "催办"):
        expect(page.locator("main")).not_to_contain_text(internal)
    screenshot(page, "my-cases.png")
    decision.get_by_role("link", name="申诉（截至 2026-04-02）").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(decided.number)
    expect(page.locator(".diagram-card")).to_have_count(0)
    appeal = page.locator("#appeal summary")
    expect(appeal).to_have_text("申诉（截至 2026-04-02）")
    appeal.click()
    page.get_by_label("申诉理由").fill("对认定负主要领导责任有不同意见：拨付系按上级文件执行")
    screenshot(page, "cadre-case.png")
    page.get_by_role("button", name="提交申诉").click()
    expect(page.locator("#messages")).to_contain_text("已提出申诉：SS-2026-000001")
    expect(page.get_by_role("heading", level=1)).to_contain_text("SS-2026-000001")
    page.goto(f"/cases/{decided.id}")
    expect(page.locator("#appeal")).to_contain_text("已对本案决定提出申诉：SS-2026-000001")
    page.goto("/")
    expect(page.locator(".my-applications")).to_contain_text("SS-2026-000001")


def test_clerk_opens_an_accountability_case_from_the_case_list(
    open_page: Any, world: World
) -> None:
    page = open_page()
    sign_in(page, "discipline.hf")
    page.goto("/cases")
    page.get_by_role("link", name="登记案件").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("登记案件")
    page.get_by_label(CADRE).select_option(label="张三（合肥市某局局长，合肥市）")

    page.get_by_role("radio", name="纠错整改", exact=True).check()  # the fields follow the kind
    expect(page.get_by_label("纠错整改要求")).to_be_visible()
    expect(page).to_have_url(re.compile(r"kind=rectification"))
    page.get_by_role("radio", name="问责", exact=True).check()
    expect(page.get_by_label("问题事实")).to_be_visible()
    expect(page.get_by_label("纠错整改要求")).to_have_count(0)
    expect(page.get_by_label(CADRE)).to_have_value(str(world.cadres["zhang"]))
    expect(page.get_by_label("立案日期")).to_have_value("2026-03-02")

    page.get_by_label("问题线索来源").select_option(label="审计")
    page.get_by_label("问题事实").fill(FINDING["facts"])
    page.get_by_label("证据材料").fill(FINDING["evidence"])
    screenshot(page, "case-new.png")

    page.get_by_label("问题事实").fill("")
    page.get_by_role("button", name="立案", exact=True).click()
    expect(page.locator("#n-facts-error")).to_have_text("请填写此项")
    expect(page.get_by_label("问题事实")).to_be_focused()
    expect(page.get_by_label("证据材料")).to_have_value(FINDING["evidence"])
    page.get_by_label("问题事实").fill(FINDING["facts"])
    page.get_by_role("button", name="立案", exact=True).click()
    expect(page).to_have_url(re.compile(r"/cases/\d+$"))
    expect(page.locator("#messages")).to_contain_text("已立案：WZ-2026-000001")
    expect(page.get_by_role("heading", level=1)).to_contain_text("WZ-2026-000001 张三问责")
    expect(page.locator(".case-tasks")).to_contain_text("立案")


def test_case_form_fits_a_phone(open_page: Any, world: World) -> None:
    page = open_page(viewport=PHONE)
    sign_in(page, "discipline.hf")
    page.goto("/cases/new?kind=clarification")
    expect(page.get_by_label("所反映的问题")).to_be_visible()
    widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                       view: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["view"], widths


def test_organization_clerk_checks_promotion_eligibility_on_a_phone_and_a_laptop(
    open_page: Any, world: World
) -> None:
    world.decided_accountability(adjustment="demotion")  # no promotion until 2028-03-02 (§6)
    page = open_page()
    log_in(page, "organization.hf")
    page.get_by_role("link", name="干部档案").click()
    page.get_by_role("link", name="张三").click()
    expect(page.locator(".verdict")).to_contain_text("不得提拔")
    page.get_by_label("查询日期").fill("2028-03-02")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".verdict")).to_contain_text("可以提拔")
    page.get_by_label("查询日期").fill("2027-01-01")
    page.keyboard.press("Enter")
    expect(page.locator(".verdict")).to_contain_text("不得提拔")
    screenshot(page, "cadre.png")
    page.set_viewport_size(PHONE)
    widths = page.evaluate("""() => ({page: document.documentElement.scrollWidth,
                                       view: document.documentElement.clientWidth})""")
    assert widths["page"] <= widths["view"], widths


def test_clerk_finds_the_cadre_by_name_in_a_large_jurisdiction(
    open_page: Any, world: World, rt: Runtime
) -> None:
    with rt.db.transaction() as session:
        session.add_all(
            Cadre(
                name=f"王{i:03d}",
                post=f"合肥市第{i}科科长",
                org_unit_code="ah-hf",
                created_at=rt.clock.now(),
            )
            for i in range(case_new.CADRE_CHOICES + 5)
        )
    page = open_page()
    sign_in(page, "discipline.hf")
    page.goto("/cases/new")
    cadre = page.get_by_label(CADRE)
    expect(cadre.locator("option:disabled")).to_have_text(
        "……另有 6 名未列出：请在上面输入姓名或职务查找"
    )
    search = page.get_by_label("查找当事干部（姓名或职务）")
    search.fill("王104")
    expect(cadre.locator("option")).to_have_text(
        ["（请选择）", "王104（合肥市第104科科长，合肥市）"]
    )
    cadre.select_option(label="王104（合肥市第104科科长，合肥市）")
    search.press("Enter")  # searches again; does not submit the form
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(cadre).to_have_value(re.compile(r"\d+"))
    page.get_by_label("问题线索来源").select_option(label="审计")
    page.get_by_label("问题事实").fill(FINDING["facts"])
    page.get_by_label("证据材料").fill(FINDING["evidence"])
    page.get_by_role("button", name="立案", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("WZ-2026-000001 王104问责")
