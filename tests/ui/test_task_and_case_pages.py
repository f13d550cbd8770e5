"""The task page (form from JSON Schema, 422 with messages beside the fields, drafts, delegate,
comments) and the case pages (list, page, diagram, appeal, exemption) over the test client."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.conftest import advance_clock
from tests.support.world import INVESTIGATED, NO_TOLERANCE, World
from workflows.cases.models import CaseFile
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime
from workflows.tasks import service as work
from workflows.tasks.models import TaskDraft

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _investigation(world: World) -> tuple[CaseFile, int]:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    return case, world.task(case, "investigate").id


def _post(client: FlaskClient, path: str, csrf: str, **form: str) -> Any:
    return client.post(path, data={"csrf_token": csrf, **form})


def _error_of(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return found.group(1) if found else ""


def _drafts(rt: Runtime) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(TaskDraft)).scalar_one())


# --- the task form ------------------------------------------------------------------------


def test_task_form_is_rendered_from_its_schema(logged_in: Any, world: World) -> None:
    case, task_id = _investigation(world)
    client, _ = logged_in("discipline.hf")
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert (
        '<label for="f-findings">调查结论<span class="req" aria-hidden="true">*</span></label>'
        in html
    )
    assert '<textarea id="f-findings" name="findings" rows="4" aria-required="true">' in html
    assert html.count('type="radio" name="responsibility"') == 4 and "主要领导责任" in html
    assert '<input type="date" id="f-investigated_on" name="investigated_on" value="">' in html
    assert "保存草稿" in html and "办理完成" in html
    assert "审计发现违规拨付专项资金" in html  # the case's documents beside the form
    assert f'href="/cases/{case.id}"' in html and "流程启动" in html  # case and its history
    # the unit by its name, not its code
    assert '<dd>纪检监察机关 · <span translate="no">合肥市</span></dd>' in html


def test_bad_input_is_refused_with_messages_beside_the_fields_and_values_kept(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case, task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    response = _post(
        client,
        f"/tasks/{task_id}",
        csrf,
        action="complete",
        findings="违",
        investigated_on="2026-03-02",
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _error_of(html, "f-findings") == "至少填写 2 个字"
    assert _error_of(html, "f-responsibility") == "请选择一项"
    assert (
        '<textarea id="f-findings" name="findings" rows="4" autofocus aria-describedby="f-findings-error"'
        in html
    )
    assert ">违</textarea>" in html and 'value="2026-03-02"' in html
    assert "未能提交：请按提示修改（共 2 处）" in html
    assert world.task(case, "investigate").state == "open"


def test_a_rule_of_the_process_is_shown_beside_its_field(logged_in: Any, world: World) -> None:
    case, _ = _investigation(world)
    world.complete(
        case,
        "investigate",
        {"findings": "违规拨付属实", "responsibility": "direct"},
        "discipline.hf",
    )
    task_id = world.task(case, "consider_tolerance").id
    client, csrf = logged_in("discipline.hf")
    response = _post(client, f"/tasks/{task_id}", csrf, action="complete", consideration="none")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (
        _error_of(html, "f-no_tolerance_reason")
        == "选择「考虑结果：不存在容错情形」时必填：§11 认定不存在容错情形须说明理由"
    )
    assert 'id="f-no_tolerance_reason" name="no_tolerance_reason" rows="4" autofocus' in html
    # the rule applies to the choice made: the reason is marked required, its help says when
    assert 'aria-describedby="f-no_tolerance_reason-help f-no_tolerance_reason-error" ' in html
    assert 'aria-invalid="true" aria-required="true">' in html
    assert "（选择「考虑结果：不存在容错情形」时必填）" in html
    assert re.search(
        r'type="radio" name="consideration" id="f-consideration-\d" value="none" checked', html
    )


def test_completing_goes_to_the_inbox_and_the_next_task_appears(
    logged_in: Any, world: World
) -> None:
    case, task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    done = _complete_investigation(client, csrf, task_id)
    assert done.status_code == 303 and done.headers["Location"] == "/tasks"
    inbox = client.get("/tasks").get_data(as_text=True)
    assert inbox.count(f"已办结：责任调查（{case.number}）") == 1  # said once, not twice
    assert "已办结" not in client.get("/tasks").get_data(as_text=True)  # and only once
    assert world.task(case, "consider_tolerance").state == "open"
    again = _post(
        client,
        f"/tasks/{task_id}",
        csrf,
        action="complete",
        findings="再次提交",
        responsibility="direct",
    )
    assert again.status_code == 303
    assert "任务已办结或已取消，未能提交" in client.get(again.headers["Location"]).get_data(
        as_text=True
    )


def test_the_completion_is_said_in_english_with_the_step_named_in_english(
    logged_in: Any, world: World
) -> None:
    case, task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    done = _complete_investigation(client, csrf, task_id, query="?lang=en")
    assert done.status_code == 303
    inbox = html_lib.unescape(client.get("/tasks?lang=en").get_data(as_text=True))
    assert inbox.count(f"Completed: Responsibility investigation ({case.number})") == 1
    assert "已办结" not in inbox and "责任调查（" not in inbox


def _complete_investigation(client: Any, csrf: str, task_id: int, *, query: str = "") -> Any:
    """Completes 责任调查 from its page with a valid form."""
    return _post(
        client,
        f"/tasks/{task_id}{query}",
        csrf,
        action="complete",
        findings="违规拨付属实",
        responsibility="main_leadership",
        investigated_on="2026-03-02",
    )


def test_a_draft_prefills_the_form_and_goes_with_completion(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    _case, task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    saved = _post(
        client,
        f"/tasks/{task_id}",
        csrf,
        action="draft",
        findings="初步查明",
        responsibility="direct",
        investigated_on="not a date",
    )
    assert saved.status_code == 303 and saved.headers["Location"] == f"/tasks/{task_id}"
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert (
        "草稿已保存：责任调查" in html
        and "已载入草稿：discipline hf（合肥市·纪检监察机关） 保存于" in html
    )
    assert ">初步查明</textarea>" in html and 'value="direct" checked' in html
    assert _drafts(rt) == 1
    with rt.db.reading() as session:
        assert (
            session.execute(select(AuditEvent.action).order_by(AuditEvent.id.desc())).scalar()
            == "task.draft"
        )
    colleague, _ = logged_in("discipline2.hf")
    assert ">初步查明</textarea>" in colleague.get(f"/tasks/{task_id}").get_data(as_text=True)
    done = _post(
        client,
        f"/tasks/{task_id}",
        csrf,
        action="complete",
        findings="查明属实",
        responsibility="direct",
    )
    assert done.status_code == 303 and _drafts(rt) == 0


def test_a_draft_may_be_saved_only_by_who_may_complete(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    _, task_id = _investigation(world)
    client, csrf = logged_in("organization.hf")
    refused = _post(client, f"/tasks/{task_id}", csrf, action="draft", findings="不是我的任务")
    assert refused.status_code == 403 and _drafts(rt) == 0


def test_another_units_task_is_not_found_for_reading_or_writing(
    logged_in: Any, world: World
) -> None:
    case, task_id = _investigation(world)
    client, csrf = logged_in("discipline.wh")
    assert client.get(f"/tasks/{task_id}").status_code == 404
    assert (
        _post(
            client,
            f"/tasks/{task_id}",
            csrf,
            action="complete",
            findings="越权提交",
            responsibility="direct",
        ).status_code
        == 404
    )
    assert _post(client, f"/tasks/{task_id}", csrf, action="draft", findings="x").status_code == 404
    assert _post(client, f"/tasks/{task_id}/comments", csrf, body="x").status_code == 404
    assert world.task(case, "investigate").state == "open"


def test_every_write_of_the_task_page_needs_the_csrf_token(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case, task_id = _investigation(world)
    client, _ = logged_in("discipline.hf")
    for path, form in (
        (
            f"/tasks/{task_id}",
            {"action": "complete", "findings": "查明属实", "responsibility": "direct"},
        ),
        (f"/tasks/{task_id}", {"action": "draft", "findings": "草稿"}),
        (f"/tasks/{task_id}/delegate", {"username": "discipline2.hf"}),
        (f"/tasks/{task_id}/comments", {"body": "意见"}),
        (f"/cases/{case.id}/exemption", {"reasons": "理由"}),
    ):
        response = client.post(path, data={**form, "csrf_token": "forged"})
        assert response.status_code == 403, path
        assert "CSRF" in response.get_data(as_text=True)
    assert world.task(case, "investigate").state == "open" and _drafts(rt) == 0


def test_delegate_names_the_problem_beside_the_field_then_delegates(
    logged_in: Any, world: World
) -> None:
    case, task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    refused = _post(client, f"/tasks/{task_id}/delegate", csrf, username="discipline.wh")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "本任务只能委派给 ah-hf 的纪检监察机关人员" in _error_of(html, "delegate-username")
    picker = re.search(r'<select id="delegate-username"[^>]*>', html)
    assert picker and 'aria-invalid="true"' in picker.group(0) and "autofocus" in picker.group(0)
    # the list offers colleagues by name, never the one refused
    assert '<option value="discipline2.hf">第二审查员（合肥市·纪检监察机关）</option>' in html
    assert 'value="discipline.wh"' not in html
    done = _post(client, f"/tasks/{task_id}/delegate", csrf, username="discipline2.hf")
    assert done.status_code == 303
    assert "已委派给 第二审查员（合肥市·纪检监察机关）：责任调查" in client.get(
        done.headers["Location"]
    ).get_data(as_text=True)
    task = world.task(case, "investigate")
    assert (task.assignee, task.owner) == ("discipline2.hf", "discipline.hf")


def test_comments_are_listed_and_an_empty_one_is_refused(logged_in: Any, world: World) -> None:
    _, task_id = _investigation(world)
    client, csrf = logged_in("discipline.hf")
    empty = _post(client, f"/tasks/{task_id}/comments", csrf, body="   ")
    assert (
        empty.status_code == 422
        and _error_of(empty.get_data(as_text=True), "comment-body") == "评论应为 1–2000 个字"
    )
    done = _post(client, f"/tasks/{task_id}/comments", csrf, body="请先调取拨款凭证")
    assert done.headers["Location"] == f"/tasks/{task_id}#comments"
    assert "请先调取拨款凭证" in client.get(f"/tasks/{task_id}").get_data(as_text=True)


def test_the_six_element_analysis_is_a_grid_and_its_recommendation_is_beside_the_determination(
    logged_in: Any, world: World
) -> None:
    case = world.open(
        "tolerance_review",
        data={
            "origin": "application",
            "applicant": "unit",
            "facts": "推进园区改革试点中审批流程出现失误",
            "reasons": "属于先行先试中的失误，已主动补救",
        },
    )
    world.complete(
        case,
        "accept",
        {
            "acceptance": "accept",
            "verification": "skip",
            "skip_reason": "事实已由申请材料和审计报告查清",
        },
        "discipline.hf",
    )
    task_id = world.task(case, "analyse").id
    client, csrf = logged_in("discipline.hf")
    html = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<table class="six-elements">' in html and html.count('<th scope="row"') == 6
    assert '<span class="visually-hidden">动机态度：</span>出以公心' in html
    posted = {"motive": "favourable", "motive_reason": "出以公心推进试点"}
    refused = _post(client, f"/tasks/{task_id}", csrf, action="complete", **posted)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert _error_of(html, "f-distinction_pioneering") == "请选择一项"
    assert 'value="favourable" checked' in html and ">出以公心推进试点</textarea>" in html
    data = {
        **{
            f"{key}": "favourable"
            for key in ("motive", "conditions", "procedure", "nature", "consequences", "recovery")
        },
        **{
            f"{key}_reason": "经核实，研判依据如下"
            for key in ("motive", "conditions", "procedure", "nature", "consequences", "recovery")
        },
        **{
            key: "true"
            for key in (
                "distinction_pioneering",
                "distinction_exploratory",
                "distinction_unintentional",
            )
        },
        **{
            f"{key}_note": "属于可容的一端"
            for key in (
                "distinction_pioneering",
                "distinction_exploratory",
                "distinction_unintentional",
            )
        },
    }
    data["consequences"] = "unfavourable"
    assert _post(client, f"/tasks/{task_id}", csrf, action="complete", **data).status_code == 303
    determine = world.task(case, "determine").id
    html = client.get(f"/tasks/{determine}").get_data(as_text=True)
    assert (
        "六要件分析建议" in html and '<span class="rec rec-mitigate">从轻或减轻处理</span>' in html
    )
    assert (
        '<p class="value" aria-labelledby="f-recommendation">从轻或减轻处理</p>' in html
    )  # read-only field
    departed = _post(
        client,
        f"/tasks/{determine}",
        csrf,
        action="complete",
        opinion="exempt",
        opinion_reason="综合六个要件，认定理由如下",
    )
    assert departed.status_code == 422
    assert "不一致，须说明理由" in _error_of(departed.get_data(as_text=True), "f-departure_reason")
    assert (
        _post(
            client,
            f"/tasks/{determine}",
            csrf,
            action="complete",
            opinion="mitigate",
            opinion_reason="综合六个要件，建议从轻处理",
        ).status_code
        == 303
    )

    # the committee approving sees what it approves: each earlier step's answers, by their titles
    committee, _csrf = logged_in("committee.hf")
    html = committee.get(f"/tasks/{world.task(case, 'approve').id}").get_data(as_text=True)
    recorded = html[html.index('id="recorded-title"') :]
    recorded = recorded[: recorded.index("</section>")]
    steps = re.findall(r'<h3 class="step">([^<]+?) <span', recorded)
    assert [step.strip() for step in steps] == ["受理", "提出认定意见"]
    # a choice by its title, the form's (translated), unlike what was typed (data)
    assert "<dt>认定意见</dt><dd>从轻或减轻处理</dd>" in recorded
    assert '<dt>认定理由</dt><dd translate="no">综合六个要件，建议从轻处理</dd>' in recorded
    assert (
        "<dt>是否开展调查核实</dt>" in recorded and "经核实，研判依据如下" not in recorded
    )  # the grid shows those


# --- the case pages -------------------------------------------------------------------------


def test_case_page_shows_deadlines_with_their_basis_decisions_timeline_and_urges(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case, task_id = _investigation(world)
    with rt.db.transaction() as session:
        from workflows.access import principal_for

        work.urge(
            session,
            principal=principal_for(session, username="supervisor.hf"),
            task_id=task_id,
            note="请抓紧调查",
            clock=rt.clock,
        )
    client, _ = logged_in("discipline.hf")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f"{case.number} " in html and "办理中" in html
    assert f'<a href="/tasks/{task_id}">责任调查</a>' in html
    assert '>纪检监察机关 · <span translate="no">合肥市</span></td>' in html
    assert "立案之日" in html  # how the investigation's due date was computed
    # people by name: the urge's author and the history's actors, never a login id
    assert "请抓紧调查" in html and "supervisor hf（合肥市·督查）" in html
    assert "discipline hf（合肥市·纪检监察机关）" in html and "supervisor.hf" not in html
    assert f'data-xml="/cases/{case.id}/diagram.bpmn"' in html
    assert 'data-completed="[&#34;' in html and "register" in html
    xml = client.get(f"/cases/{case.id}/diagram.bpmn")
    assert xml.status_code == 200 and xml.mimetype == "application/xml"
    assert b'id="investigate"' in xml.data
    # the diagram's lanes named by role, its zoom buttons and the 审批记录 beside it
    roles = json.loads(html_lib.unescape(re.search(r'data-roles="([^"]*)"', html).group(1)))
    assert roles["discipline"] == "纪检监察机关"
    for button, name in (("zoom-in", "放大"), ("zoom-out", "缩小"), ("fit", "适应窗口")):
        assert re.search(rf'id="diagram-{button}"[^>]*>{name}</button>', html), button
    record = html[html.index('id="approvals"') : html.index("查看完整办理经过")]
    assert "审批记录" in record and "办理：立案" in record
    assert "discipline hf（合肥市·纪检监察机关）" in record
    assert "请抓紧调查" not in record  # urges are not approvals
    english = client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    roles_en = json.loads(html_lib.unescape(re.search(r'data-roles="([^"]*)"', english).group(1)))
    assert roles_en["discipline"] != "" and set(roles_en) == set(roles)


def test_the_approval_record_shows_each_steps_opinion_not_its_other_data(
    logged_in: Any, world: World
) -> None:
    case, _task_id = _investigation(world)
    world.complete(
        case,
        "investigate",
        {**INVESTIGATED, "investigated_on": "2026-03-02"},
        "discipline.hf",
    )
    world.complete(case, "consider_tolerance", NO_TOLERANCE, "discipline.hf")
    client, _ = logged_in("discipline.hf")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    record = html[html.index('id="approvals"') : html.index("查看完整办理经过")]
    # the choice's label and the opinion text, with the field's title; dates are not opinions
    assert '主要领导责任；调查结论：<span translate="no">违规拨付属实</span>' in record
    assert '不存在容错情形；不存在容错情形的理由：<span translate="no">明知故犯' in record
    assert "main_leadership" not in record and "调查完成日期" not in record


def test_case_list_filters_and_a_cadre_sees_only_own_cases_and_decisions(
    logged_in: Any, world: World
) -> None:
    decided = world.decided_accountability()
    running = world.open("accountability", data=FINDING)
    other = world.open("accountability", cadre="li", data=FINDING)  # 肥东县: not discipline.hf's
    clerk, _ = logged_in("discipline.hf")
    html = clerk.get("/cases").get_data(as_text=True)
    assert decided.number in html and running.number in html and other.number not in html
    only = clerk.get("/cases?status=decided").get_data(as_text=True)
    assert decided.number in only and running.number not in only
    assert "没有符合条件的案件" in clerk.get("/cases?q=NOPE").get_data(as_text=True)
    assert clerk.get("/cases?process=bogus&status=x&overdue=maybe&page=-1").status_code == 200
    cadre, _ = logged_in("zhang")
    assert cadre.get("/cases").headers["Location"] == "/mine"  # a cadre's list is their home
    mine = cadre.get("/mine").get_data(as_text=True)
    assert decided.number in mine and other.number not in mine
    assert "向我送达的决定" in mine and "对违规拨付负主要领导责任" in mine
    assert cadre.get(f"/cases/{other.id}").status_code == 404
    assert cadre.get(f"/cases/{other.id}/diagram.bpmn").status_code == 404
    outsider, _ = logged_in("discipline.wh")
    assert outsider.get(f"/cases/{decided.id}").status_code == 404


def test_cadre_appeals_within_the_window_from_the_case_page(logged_in: Any, world: World) -> None:
    decided = world.decided_accountability()
    client, csrf = logged_in("zhang")
    html = client.get(f"/cases/{decided.id}").get_data(as_text=True)
    assert "申诉（截至 2026-04-02）" in html
    empty = _post(client, f"/cases/{decided.id}/appeal", csrf, grounds="  ")
    assert empty.status_code == 422 and "申诉须写明理由" in _error_of(
        empty.get_data(as_text=True), "appeal-grounds"
    )
    done = _post(client, f"/cases/{decided.id}/appeal", csrf, grounds="对责任认定有不同意见")
    assert done.status_code == 303
    appeal = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已提出申诉：SS-2026-000001" in appeal and "SS-2026-000001" in appeal
    assert "已对本案决定提出申诉：SS-2026-000001" in client.get(f"/cases/{decided.id}").get_data(
        as_text=True
    )


def test_late_appeal_shows_the_reason_beside_the_date(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    decided = world.decided_accountability()
    advance_clock(rt, days=40)
    cadre, csrf = logged_in("zhang")
    assert "申诉期已于 2026-04-02 届满" in cadre.get(f"/cases/{decided.id}").get_data(as_text=True)
    late = _post(cadre, f"/cases/{decided.id}/appeal", csrf, grounds="逾期提出的申诉理由")
    html = late.get_data(as_text=True)
    assert late.status_code == 422
    assert (
        _error_of(html, "appeal-filed_on")
        == "§11 申诉须在收到决定之日起1个月内提出：申诉期已于 2026-04-02 届满"
    )
    assert ">逾期提出的申诉理由</textarea>" in html
    clerk, clerk_csrf = logged_in("discipline.hf")
    backdated = _post(
        clerk, f"/cases/{decided.id}/appeal", clerk_csrf, grounds="书面申诉", filed_on="2026-13-40"
    )
    assert backdated.status_code == 422
    assert (
        _error_of(backdated.get_data(as_text=True), "appeal-filed_on")
        == "请填写有效的日期（年-月-日）"
    )
    in_time = _post(
        clerk, f"/cases/{decided.id}/appeal", clerk_csrf, grounds="书面申诉", filed_on="2026-03-20"
    )
    assert in_time.status_code == 303


@pytest.mark.parametrize("username", ["discipline.wh", "supervisor.wh"])
def test_appeal_against_a_case_out_of_sight_is_not_found(
    logged_in: Any, world: World, username: str
) -> None:
    decided = world.decided_accountability()
    client, csrf = logged_in(username)
    assert _post(client, f"/cases/{decided.id}/appeal", csrf, grounds="越权申诉").status_code == 404


def test_cadre_applies_for_exemption_while_the_case_is_open(logged_in: Any, world: World) -> None:
    case, _ = _investigation(world)
    client, csrf = logged_in("zhang")
    html = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "申请免责" in html and 'name="applicant"' not in html
    empty = _post(client, f"/cases/{case.id}/exemption", csrf, reasons="")
    assert empty.status_code == 422
    assert "§11 免责申请须写明理由" in _error_of(empty.get_data(as_text=True), "exemption-reasons")
    done = _post(client, f"/cases/{case.id}/exemption", csrf, reasons="属于先行先试中的失误")
    assert done.status_code == 303
    review = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "已提出免责申请：RC-2026-000001" in review
    clerk, clerk_csrf = logged_in("discipline.hf")
    assert 'name="applicant"' in clerk.get(f"/cases/{case.id}").get_data(as_text=True)
    unnamed = _post(clerk, f"/cases/{case.id}/exemption", clerk_csrf, reasons="书面申请")
    assert unnamed.status_code == 422 and _error_of(
        unnamed.get_data(as_text=True), "exemption-applicant"
    )
