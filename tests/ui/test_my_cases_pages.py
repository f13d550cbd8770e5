"""我的案件: a cadre lands on their own home, sees the decisions served on them with the appeal
button and its last day, their applications, and nothing internal (DOMAIN.md §6): no steps of
other roles, no 催办/督办, no lanes or diagram, no login names, no decision before 送达."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import advance_clock
from tests.support.world import World
from tests.ui.conftest import submit_login
from workflows.access import principal_for
from workflows.cases.models import CaseFile
from workflows.runtime import Runtime
from workflows.tasks import service as work

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
#: Text a cadre's pages must never carry: login names, steps of other roles, lanes and role
#: names, supervision, the diagram, and what the clerks' pages offer.
INTERNAL = (
    "discipline.hf",
    "committee.hf",
    "organization.hf",
    "supervisor.hf",
    "discipline2.hf",
    "立案：",
    "责任调查",
    "同步考虑容错情形",
    "妥善安排工作",
    "纪检监察机关",
    "组织部门",
    "党委(党组)",
    "督办",
    "催办",
    "办理经过",
    "流程图",
    "diagram",
    "导出",
    "已作出决定",
)


def _clean(html: str) -> None:
    found = [text for text in INTERNAL if text in html]
    assert found == [], f"internal text on a cadre's page: {found}"


def _investigation(world: World) -> CaseFile:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    return case


def test_a_cadre_lands_on_my_cases_and_has_no_clerks_pages(app: Any, world: World) -> None:
    client = app.test_client()
    assert submit_login(client, "zhang").headers["Location"] == "/mine"
    assert client.get("/").headers["Location"] == "/mine"
    html = client.get("/mine").get_data(as_text=True)
    assert "<h1>我的案件</h1>" in html
    nav = html[html.index('class="main-nav"') : html.index("</nav>")]
    assert 'href="/mine"' in nav and "我的案件" in nav
    assert 'href="/tasks"' not in nav and 'href="/cases"' not in nav and "/cadres" not in nav
    assert 'href="/notifications"' in html  # 通知, in the header
    assert client.get("/tasks").headers["Location"] == "/mine"
    assert client.get("/cases?process=accountability").headers["Location"] == "/mine"
    for export in ("/tasks/export.csv", "/cases/export.xlsx"):
        refused = client.get(export)
        assert refused.status_code == 403 and "导出是办理人员的功能" in refused.get_data(
            as_text=True
        )
    _clean(html)


def test_officials_keep_their_queue_and_are_refused_my_cases(logged_in: Any, world: World) -> None:
    clerk, _ = logged_in("discipline.hf")
    assert clerk.get("/").headers["Location"] == "/tasks"
    refused = clerk.get("/mine")
    assert refused.status_code == 403 and "不是干部本人账号" in refused.get_data(as_text=True)


def test_home_lists_a_served_decision_with_the_appeal_button_and_its_last_day(
    logged_in: Any, world: World
) -> None:
    decided = world.decided_accountability()
    other = world.open("accountability", cadre="li", data=FINDING)
    cadre, _ = logged_in("zhang")
    html = cadre.get("/mine").get_data(as_text=True)
    assert decided.number in html and other.number not in html
    decision = html[html.index('id="decisions-title"') : html.index('id="applications-title"')]
    assert "问责决定：组织调整（降职）" in decision
    assert "对违规拨付负主要领导责任" in decision
    assert (
        '<span translate="no">合肥市委</span> 2026-03-02 作出' in decision
        and "2026-03-02 送达" in decision
    )
    assert f'href="/cases/{decided.id}#appeal">申诉（截至 2026-04-02）</a>' in decision
    cases = html[html.index('id="cases-title"') :]
    assert "已送达决定" in cases and "降职" in cases and "合肥市" in cases
    _clean(html)


def test_after_the_window_the_home_says_it_closed(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    world.decided_accountability()
    advance_clock(rt, days=40)
    cadre, _ = logged_in("zhang")
    html = cadre.get("/mine").get_data(as_text=True)
    assert "申诉期已于 2026-04-02 届满" in html and "申诉（截至" not in html


def test_a_decision_not_yet_served_is_not_shown_anywhere(logged_in: Any, world: World) -> None:
    case = world.undelivered_accountability()
    cadre, _ = logged_in("zhang")
    home = cadre.get("/mine").get_data(as_text=True)
    assert case.number in home and "办理中" in home
    assert "降职" not in home and "对违规拨付负主要领导责任" not in home
    assert "还没有向你送达的决定" in home
    page = cadre.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "办理中" in page and "降职" not in page and "对违规拨付负主要领导责任" not in page
    assert "本案尚无向你送达的决定" in page and "决定送达" not in page
    _clean(home)
    _clean(page)
    clerk, _ = logged_in("discipline.hf")  # the clerks see it decided
    assert "已作出决定" in clerk.get(f"/cases/{case.id}").get_data(as_text=True)


def test_the_cadre_case_page_shows_nothing_internal(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case = _investigation(world)
    investigate = world.task(case, "investigate")
    with rt.db.transaction() as session:
        work.urge(
            session,
            principal=principal_for(session, username="supervisor.hf"),
            task_id=investigate.id,
            note="请抓紧调查",
            clock=rt.clock,
        )
    cadre, _ = logged_in("zhang")
    html = cadre.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"{case.number} " in html and "办理中" in html and "合肥市纪委监委" in html
    assert "申请免责" in html  # the entry point a cadre has on an open accountability case
    assert "请抓紧调查" not in html and "data-xml" not in html and "bpmn" not in html
    assert f"/tasks/{investigate.id}" not in html
    _clean(html)
    assert cadre.get(f"/cases/{case.id}/diagram.bpmn").status_code == 404
    clerk, _ = logged_in("discipline.hf")  # the clerks' page still has it all
    full = clerk.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "请抓紧调查" in full and "责任调查" in full and "data-xml" in full


def test_applications_are_listed_with_their_state(logged_in: Any, world: World) -> None:
    decided = world.decided_accountability()
    running = _investigation(world)
    cadre, csrf = logged_in("zhang")
    exempt = cadre.post(
        f"/cases/{running.id}/exemption",
        data={"reasons": "属于先行先试中的失误", "csrf_token": csrf},
    )
    assert exempt.status_code == 303
    appealed = cadre.post(
        f"/cases/{decided.id}/appeal", data={"grounds": "降职处理过重", "csrf_token": csrf}
    )
    assert appealed.status_code == 303
    html = cadre.get("/mine").get_data(as_text=True)
    applications = html[html.index('id="applications-title"') : html.index('id="cases-title"')]
    rows = applications.split("<tr>")[2:]
    assert len(rows) == 2
    appeal_row = next(row for row in rows if "SS-2026-000001" in row)
    assert ">申诉</td>" in appeal_row and decided.number in appeal_row and "办理中" in appeal_row
    review_row = next(row for row in rows if "RC-2026-000001" in row)
    assert ">免责申请</td>" in review_row and running.number in review_row
    decision = html[html.index('id="decisions-title"') : html.index('id="applications-title"')]
    assert (
        '已提出申诉：<span translate="no">SS-2026-000001</span>' in decision
        and "申诉（截至" not in decision
    )
    _clean(html)


@pytest.mark.parametrize("lang", ["en"])
def test_the_home_in_english(logged_in: Any, world: World, lang: str) -> None:
    world.decided_accountability()
    cadre, _ = logged_in("zhang")
    html = cadre.get(f"/mine?lang={lang}").get_data(as_text=True)
    assert "My cases" in html and "Decisions served on me" in html
    assert "Appeal (until 2026-04-02)" in html


def test_a_closed_clarification_reads_as_its_finding(logged_in: Any, world: World) -> None:
    case = world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )
    world.complete(
        case,
        "verify",
        {"finding": "true", "reason": "经核实，所反映的问题基本属实", "verified_on": "2026-03-02"},
        "discipline.hf",
    )
    cadre, _ = logged_in("zhang")
    html = cadre.get("/mine").get_data(as_text=True)
    assert "核实结论：反映属实" in html and "已办结" in html


def test_an_untrue_report_reads_as_its_finding_everywhere(logged_in: Any, world: World) -> None:
    """A clarification's verification is a 核实结论 in words on every page, never a 整改验收
    with the finding's code."""
    case = world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )
    world.complete(
        case,
        "verify",
        {"finding": "untrue", "reason": "经核实，所反映的问题不属实", "verified_on": "2026-03-02"},
        "discipline.hf",
    )
    cadre, _ = logged_in("zhang")
    clerk, _ = logged_in("discipline.hf")
    pages = {
        "mine": cadre.get("/mine").get_data(as_text=True),
        "cadre's case": cadre.get(f"/cases/{case.id}").get_data(as_text=True),
        "clerk's case": clerk.get(f"/cases/{case.id}").get_data(as_text=True),
    }
    for name, html in pages.items():
        shown = re.sub(r"<(script|style)\b.*?</\1>|<[^>]+>", " ", html, flags=re.DOTALL)
        assert "untrue" not in shown and "整改验收" not in shown, name
