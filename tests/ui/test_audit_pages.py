"""The audit page in words (审计日志): actions, objects and details named in Chinese, not as
codes (only the rows' data-action holds one) or JSON; one case's whole trail found by its
number, linked from the case page for those who read the audit trail (administrators)."""

from __future__ import annotations

import re
from typing import Any

from tests.support.world import World

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


def _rows(html: str) -> list[str]:
    return re.findall(r'<tr id="audit-\d+" data-action="[^"]+">(.*?)</tr>', html, re.DOTALL)


def test_audit_rows_name_actions_objects_and_details(logged_in: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    client, csrf = logged_in("discipline.hf")
    task_id = world.task(case, "register").id
    client.post(f"/tasks/{task_id}/claim", data={"csrf_token": csrf, "next": "/tasks"})
    admin, _ = logged_in("admin.hf")
    html = admin.get("/admin/audit").get_data(as_text=True)
    rows = _rows(html)
    assert rows
    text = "\n".join(rows)
    for code in ("task.claim", "case.open", "auth.login"):
        assert f">{code}<" not in text
    assert '<td data-label="操作">认领任务</td>' in text
    assert '<td data-label="操作">登录</td>' in text
    assert f'任务 <span translate="no">{task_id}</span>' in text
    assert (
        '<dt>操作方</dt><dd><span class="pair">IP 地址：<span translate="no">127.0.0.1</span>'
        '</span>，<span class="pair">机构：<span translate="no">ah-hf</span></span>，'
        '<span class="pair">角色：纪检监察机关</span></dd>'
    ) in text
    assert "<dt>类别</dt><dd>问责</dd>" in text and "<dt>办理人</dt>" in text
    assert "<dt>结果</dt><dd>成功</dd>" in text
    assert '{"' not in text and "&#34;" not in text and "&quot;" not in text
    # the filters offer actions and object types by name
    assert '<option value="task.claim">认领任务</option>' in html
    assert '<option value="case">案件</option>' in html


def test_audit_search_by_case_number_finds_the_whole_trail(logged_in: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    other = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    admin, _ = logged_in("admin.hf")
    html = admin.get(f"/admin/audit?case_number={case.number}").get_data(as_text=True)
    names = re.findall(r'<tr id="audit-\d+" data-action="([^"]+)">', html)
    assert names == ["task.complete", "case.open", "instance.start"]
    assert f'<span translate="no">{other.number}</span>' not in html
    assert f'value="{case.number}"' in html  # the search kept
    unknown = admin.get("/admin/audit?case_number=WZ-1999-000001").get_data(as_text=True)
    assert not _rows(unknown) and "没有符合条件的记录" in unknown


def test_case_page_links_its_audit_trail_for_administrators_only(
    logged_in: Any, world: World
) -> None:
    case = world.open("accountability", data=FINDING)
    link = f'href="/admin/audit?case_number={case.number}">查看完整审计记录</a>'
    admin, _ = logged_in("admin.hf")
    assert link in admin.get(f"/cases/{case.id}").get_data(as_text=True)
    clerk, _ = logged_in("discipline.hf")
    assert "查看完整审计记录" not in clerk.get(f"/cases/{case.id}").get_data(as_text=True)
    assert clerk.get(f"/admin/audit?case_number={case.number}").status_code == 403
