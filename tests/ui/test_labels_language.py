"""Labels of coded values (statuses, kinds, outcomes, audit words) and the case's history in
the page's language: English pages read English, with no Chinese label left and no code; the
Chinese pages read the same labels in Chinese. People's names and what they wrote are data."""

from __future__ import annotations

import re
from typing import Any

from tests.conftest import set_clock
from tests.support.world import World
from workflows.runtime import Runtime

REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
CJK = re.compile(r"[\u4e00-\u9fff]")


def _part(html: str, start: str, end: str) -> str:
    """The page from `start` to the next `end`."""
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


def _text(html: str, *data: str) -> str:
    """The visible text of some HTML, less the names of people (`who`) and the given data."""
    html = re.sub(r'<span class="who"[^>]*>.*?</span>', "", html, flags=re.DOTALL)
    text = re.sub(r"<[^>]+>", " ", html)
    for value in data:
        text = text.replace(value, "")
    return text


def _no_chinese(text: str) -> None:
    assert not CJK.search(text), CJK.findall(text)


def test_case_page_history_and_status_in_english(logged_in: Any, world: World) -> None:
    case = world.open("accountability", data=REGISTER)
    task_id = world.task(case, "register").id
    holder, csrf = logged_in("discipline.hf")
    holder.post(
        f"/tasks/{task_id}/consult",
        data={"csrf_token": csrf, "users": ["discipline2.hf"], "question": "是否立案？"},
    )
    page = holder.get(f"/tasks/{task_id}").get_data(as_text=True)
    consultation_id = page.split('action="/consultations/')[1].split("/withdraw")[0]
    holder.post(f"/consultations/{consultation_id}/withdraw", data={"csrf_token": csrf})
    holder.post(
        f"/tasks/{task_id}/copy",
        data={"csrf_token": csrf, "users": ["committee.hf"], "note": "请知悉"},
    )
    holder.post(f"/tasks/{task_id}", data={"csrf_token": csrf, "action": "complete"})

    english = holder.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    history = _part(english, 'id="timeline"', "</ol>")
    assert "Opinions requested: Opened" in history
    assert "Request for opinions withdrawn: Opened" in history
    # who had not answered, by name, not by username
    assert "Not yet answered when withdrawn: 第二审查员" in history
    assert "discipline2.hf" not in history
    assert "Copied to committee hf" in history and "Process started" in history
    people = ("第二审查员", "（合肥市·纪检监察机关）", "（合肥市·党委(党组)）")
    _no_chinese(_text(history, "是否立案？", "请知悉", *people))
    facts = _part(english, "<dl", "</dl>")
    assert "<dd>Accountability</dd>" in facts and ">In progress</span>" in facts
    assert "办理中" not in english and "加签征求意见" not in english

    chinese = holder.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    history = _part(chinese, 'id="timeline"', "</ol>")
    assert "加签征求意见：立案" in history and "撤回征求意见：立案" in history
    assert "抄送 committee hf" in history and ">办理中</span>" in chinese
    assert "Opinions requested" not in chinese


def test_audit_page_in_english_names_form_data_by_the_form(logged_in: Any, world: World) -> None:
    case = world.awaiting_decision()
    admin, _ = logged_in("admin.hf")
    english = admin.get(f"/admin/audit?case_number={case.number}&lang=en").get_data(as_text=True)
    rows = re.findall(r'<tr id="audit-\d+" data-action="([^"]+)">(.*?)</tr>', english, re.DOTALL)
    completed = [row for action, row in rows if action == "task.complete"]
    assert completed and all(">Complete the task</td>" in row for row in completed)
    text = "\n".join(row for _action, row in rows)
    assert ">Process started<" in text and ">Register a case<" in text
    assert "<dt>Form data</dt>" in text
    assert "<dt>Task</dt><dd>Responsibility investigation</dd>" in text
    for code in ("task.complete", "instance.start", "case.open", "investigate", "main_leadership"):
        assert f">{code}<" not in text and f"：{code}" not in text
    # the forms' own titles and choices are the forms' catalog's; the rest is English
    labels = re.sub(r"<dt>Form data</dt><dd>.*?</dd>", "", text, flags=re.DOTALL)
    labels = re.sub(r'<td data-label="Actor" translate="no">.*?</td>', "", labels, flags=re.DOTALL)
    labels = re.sub(r'<span translate="no">[^<]*</span>', "", labels)  # data (units, numbers)
    _no_chinese(_text(labels, "审计发现违规拨付专项资金", "审计报告〔2026〕3号"))

    chinese = admin.get(f"/admin/audit?case_number={case.number}&lang=zh-CN").get_data(as_text=True)
    # the investigation's data by its form's titles and choice labels, not by keys and codes
    assert '调查结论：<span translate="no">违规拨付属实</span>' in chinese
    assert '<span class="pair">责任认定：主要领导责任</span>' in chinese
    assert "<dt>任务</dt><dd>责任调查</dd>" in chinese
    assert "responsibility：" not in chinese and "<dt>表单内容</dt>" in chinese


def test_my_cases_in_english(logged_in: Any, world: World) -> None:
    world.decided_accountability(adjustment="demotion")
    cadre, _ = logged_in("zhang")
    english = cadre.get("/mine?lang=en").get_data(as_text=True)
    # (an official document is named by its own Chinese title, as issued)
    main = re.sub(
        r'<p class="doc-name">.*?</p>', "", _part(english, "<main", "</main>"), flags=re.DOTALL
    )
    assert "Accountability decision: " in main and "Demotion" in main
    assert "Decision served" in main or "Decision in force" in main
    for label in ("问责决定", "降职", "已送达决定", "决定已生效", "有效", "问责"):
        assert label not in main, label
    chinese = cadre.get("/mine?lang=zh-CN").get_data(as_text=True)
    assert "问责决定" in chinese and "降职" in chinese


def test_overdue_list_and_dashboard_in_english(logged_in: Any, world: World, rt: Runtime) -> None:
    case = world.open("accountability", cadre="zhang", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    set_clock(rt, "2026-04-20 09:00")
    client, _ = logged_in("supervisor.hf")
    overdue = client.get("/supervision/overdue?lang=en").get_data(as_text=True)
    table = _part(overdue, "<tbody", "</tbody>")
    assert "30 working days from the day the case was registered" in table
    assert "Accountability" in table and "Responsibility investigation" in table
    assert "Discipline inspection" in table
    for label in ("问责", "责任调查", "纪检监察机关", "立案之日"):
        assert label not in table, label
    dashboard = client.get("/supervision?lang=en").get_data(as_text=True)
    assert '"labels": ["Accountability"' in dashboard or '"Accountability"' in dashboard
    oldest = _part(dashboard, 'id="h-oldest"', "</table>")
    assert "Responsibility investigation" in oldest and "责任调查" not in oldest
    chinese = client.get("/supervision/overdue?lang=zh-CN").get_data(as_text=True)
    assert "责任调查" in _part(chinese, "<tbody", "</tbody>")
