"""How a due date was computed (期限如何计算), the official documents' kinds, the case history's
notes and what earlier steps recorded, in the page's language: the stored Chinese basis is
read by its shape and worded through the catalog, a document's 文号 and what people wrote are
marked as data; an unknown basis shows as stored, and the Chinese pages read as before."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask

from server.ui import due_basis
from tests.support.world import World

CJK = re.compile(r"[\u4e00-\u9fff]")
REGISTER = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _part(html: str, start: str, end: str) -> str:
    begin = html.index(start)
    return html[begin : html.index(end, begin)]


def _interface(html: str) -> str:
    """The visible text outside what is marked data (translate="no") and people's names."""
    html = re.sub(r'<(\w+)[^>]*translate="no"[^>]*>.*?</\1>', " ", html, flags=re.DOTALL)
    return re.sub(r"<[^>]+>", " ", html)


def _worded(app: Flask, basis: str | None, lang: str = "en") -> str:
    with app.test_request_context(f"/?lang={lang}"):
        return str(due_basis.worded(basis))


def test_every_shape_of_a_basis_is_worded_in_english(app: Flask) -> None:
    assert _worded(app, "立案之日 2026-04-01 起30个工作日") == (
        "30 working days from the day the case was registered, 2026-04-01"
    )
    assert _worded(app, "分配之日 2026-05-20 起1个月") == (
        "1 month(s) from the day of assignment, 2026-05-20"
    )
    assert _worded(app, "起算之日 2026-05-20 起10日") == "10 days from the starting day, 2026-05-20"
    assert _worded(app, "决定生效之日 2026-06-01 起30个工作日（问责条例第二十条）") == (
        "30 working days from the day the decision took effect, 2026-06-01"
        " (Accountability Regulations, Article 20)"
    )
    assert _worded(app, "与“责任调查”同时到期：立案之日 2026-04-01 起30个工作日") == (
        "Due with “Responsibility investigation”: "
        "30 working days from the day the case was registered, 2026-04-01"
    )
    assert _worded(app, "责令限期整改：2026-06-04 前完成") == (
        "Rectification ordered: to be completed by 2026-06-04"
    )
    assert _worded(app, "期限 2026-06-04") == "Due 2026-06-04"
    assert _worded(app, "与步骤 investigate 同时到期") == (
        'Due with step <span translate="no">investigate</span>'
    )
    talk = _worded(app, "2026年度谈心谈话：张三 与 李四，2026-12-31 前完成")
    assert talk == (
        'Talks of 2026: <span translate="no">张三</span> with <span translate="no">李四</span>,'
        " to be completed by 2026-12-31"
    )
    # a label the catalog lacks stays as written; a shape not known, as stored
    assert _worded(app, "某某之日 2026-04-01 起3个工作日") == (
        "3 working days from 某某之日, 2026-04-01"
    )
    assert _worded(app, "按会议纪要确定") == "按会议纪要确定"
    assert _worded(app, None) == "None" and _worded(app, "") == ""


def test_a_basis_reads_as_stored_in_chinese(app: Flask) -> None:
    for stored in (
        "立案之日 2026-04-01 起30个工作日",
        "与“责任调查”同时到期：立案之日 2026-04-01 起30个工作日",
        "决定生效之日 2026-06-01 起30个工作日（问责条例第二十条）",
        "分配之日 2026-05-20 起1个月",
        "责令限期整改：2026-06-04 前完成",
    ):
        assert _worded(app, stored, "zh_CN") == stored


def test_deadlines_on_case_task_inbox_and_overdue_pages_in_english(
    logged_in: Any, world: World, app: Flask
) -> None:
    case = world.open("accountability", data=REGISTER)
    world.complete(case, "register", {}, "discipline.hf")
    registered = world.case(case.id).registered_on
    counted = f"30 working days from the day the case was registered, {registered}"
    client, _ = logged_in("discipline.hf")

    english = client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    bases = re.findall(
        r'<td data-label="How the deadline is set" class="basis">(.*?)</td>', english
    )
    assert counted in bases, bases
    assert f"Due with “Responsibility investigation”: {counted}" in bases
    assert not any(CJK.search(basis) for basis in bases), bases
    investigate = world.task(case, "investigate")
    task = client.get(f"/tasks/{investigate.id}?lang=en").get_data(as_text=True)
    assert f"({counted})" in task and "立案之日" not in task
    inbox = client.get("/tasks?lang=en").get_data(as_text=True)
    assert f'title="{counted}"' in inbox

    chinese = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    assert f"立案之日 {registered} 起30个工作日" in chinese
    assert f"与“责任调查”同时到期：立案之日 {registered} 起30个工作日" in chinese
    # the API gives the basis as stored, whatever the language asked
    api = app.test_client()
    signed_in = {"username": "discipline.hf", "password": "demo-pass-1"}
    assert api.post("/api/v1/auth/login", json=signed_in).status_code == 200
    path = f"/api/v1/tasks/{investigate.id}"
    shown = api.get(path, headers={"Accept-Language": "en"}).get_json()
    assert shown["due_basis"] == f"立案之日 {registered} 起30个工作日"


def test_case_history_names_documents_and_decisions_in_english(
    logged_in: Any, world: World
) -> None:
    case = world.decided_accountability()
    client, _ = logged_in("organization.hf")
    english = client.get(f"/cases/{case.id}?lang=en").get_data(as_text=True)
    history = _part(english, 'id="timeline"', "</ol>")
    number = '<span translate="no">合肥市纪问〔2026〕1号</span>'
    assert f"Official document generated (Accountability decision document {number}" in history
    assert "(version 1))" in history
    assert "Official document generated (Service receipt (version 1))" in history
    # the decision's choices and titles are the form's, translated; what was typed is data
    assert 'Findings of the investigation: <span translate="no">违规拨付属实</span>' in history
    assert '<span translate="no">对违规拨付负主要领导责任</span>' in history
    assert not CJK.search(_interface(history)), CJK.findall(_interface(history))
    approvals = _part(english, 'id="approvals"', "</ol>")
    assert '<span translate="no">违规拨付属实</span>' in approvals
    assert not CJK.search(_interface(approvals)), CJK.findall(_interface(approvals))
    documents = _part(english, 'id="official"', "</section>")
    assert "<strong>Accountability decision document</strong>" in documents
    assert "<strong>问责决定书</strong>" not in documents

    chinese = client.get(f"/cases/{case.id}?lang=zh-CN").get_data(as_text=True)
    history = _part(chinese, 'id="timeline"', "</ol>")
    assert f"问责决定书{number}（第 1 版）" in history
    assert '调查结论：<span translate="no">违规拨付属实</span>' in history
    assert "<strong>问责决定书</strong>" in chinese

    cadre, _ = logged_in("zhang")
    mine = cadre.get("/mine?lang=en").get_data(as_text=True)
    served = _part(mine, 'id="served-documents"', "</section>")
    assert "<strong>Accountability decision document</strong>" in served


def test_earlier_steps_are_recorded_under_their_titles_in_english(
    logged_in: Any, world: World
) -> None:
    case = world.awaiting_decision()
    decide = world.task(case, "decide")
    client, _ = logged_in("committee.hf")
    english = client.get(f"/tasks/{decide.id}?lang=en").get_data(as_text=True)
    recorded = _part(english, 'id="recorded-title"', "</section>")
    # the field titles and the chosen options are the form's; the typed text is data
    assert "<dt>Findings of the investigation</dt>" in recorded
    assert re.search(r"<dt>[^<]+</dt><dd>[A-Z][^<]+</dd>", recorded), recorded
    assert not CJK.search(_interface(recorded)), CJK.findall(_interface(recorded))

    chinese = client.get(f"/tasks/{decide.id}?lang=zh-CN").get_data(as_text=True)
    recorded = _part(chinese, 'id="recorded-title"', "</section>")
    assert "<dt>调查结论</dt>" in recorded and "<dt>责任认定</dt>" in recorded
