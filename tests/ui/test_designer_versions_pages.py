"""流程设计 pages for versions: the 版本说明 field and the confirmation step on the editor,
notes in the version list, and the comparison of two versions."""

from __future__ import annotations

import html as html_lib
import json
import re
from typing import Any

from tests.support.world import BPMN, FORMS, World
from workflows.definitions import deployment
from workflows.definitions.deployment import SourceFile
from workflows.runtime import Runtime

ACCOUNTABILITY = (BPMN / "accountability.bpmn").read_text(encoding="utf-8")
RENAMED = ACCOUNTABILITY.replace(
    '<bpmn:userTask id="investigate" name="责任调查">',
    '<bpmn:userTask id="investigate" name="责任调查核实">',
)


def _text(response: Any) -> str:
    return html_lib.unescape(response.get_data(as_text=True))


def _deploy(rt: Runtime, content: str, note: str) -> None:
    with rt.db.transaction() as session:
        deployment.deploy(
            session,
            files=[SourceFile("accountability.bpmn", content.encode("utf-8"))],
            form_source=deployment.FormFolder(FORMS),
            max_bytes=2_000_000,
            actor="designer.hf",
            clock=rt.clock,
            note=note,
        )


def test_the_editor_asks_for_a_note_and_has_a_confirmation_step(logged_in: Any) -> None:
    client, _ = logged_in("designer.hf")
    page = _text(client.get("/processes/accountability/edit"))
    assert '<label for="deploy-note">版本说明' in page
    assert re.search(r'<textarea id="deploy-note" name="note"[^>]*maxlength="500"', page)
    confirm = page.split('id="deploy-confirm"', 1)[1].split("</section>", 1)[0]
    assert " hidden " in confirm.split(">", 1)[0]
    assert "部署前请确认以下警告" in confirm and 'id="deploy-warnings"' in confirm
    assert 'id="btn-confirm-deploy"' in confirm and "确认并部署" in confirm
    found = re.search(r'<script type="application/json" id="modeler-texts">(.*?)</script>', page)
    assert found
    texts = json.loads(found.group(1))  # what the script says
    assert texts["confirm_needed"] == "有 {n} 个警告，请确认后再部署。"
    assert texts["now_version"] == "当前为已部署的第 {n} 版（{file}）。"
    assert texts["note_missing"] == "请填写版本说明（1-500 字）。"


def test_an_administrator_sees_the_editor_without_the_deploy_step(logged_in: Any) -> None:
    client, _ = logged_in("admin.hf")
    page = _text(client.get("/processes/accountability/edit"))
    assert 'id="deploy-note"' not in page and 'id="deploy-confirm"' not in page


def test_the_version_list_shows_each_note_who_deployed_and_a_comparison_link(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    _deploy(rt, RENAMED, "调查步骤改名为“责任调查核实”")
    client, _ = logged_in("designer.hf")
    page = _text(client.get("/processes"))
    v2 = page.split('id="version-accountability-2"', 1)[1].split("</li>", 1)[0]
    assert (
        '版本说明：<span translate="no">调查步骤改名为“责任调查核实”' in v2
        and "designer hf（合肥市·流程设计）" in v2
    )
    assert 'href="/processes/accountability/diff?old=1&new=2"' in v2
    v1 = page.split('id="version-accountability-1"', 1)[1].split("</li>", 1)[0]
    assert '版本说明：<span translate="no">测试部署' in v1 and "与上一版比较" not in v1


def test_the_comparison_page_shows_the_changed_element(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    _deploy(rt, RENAMED, "改名")
    client, _ = logged_in("designer.hf")
    response = client.get("/processes/accountability/diff?old=1&new=2")
    assert response.status_code == 200
    page = _text(response)
    changed = page.split('id="diff-changed"', 1)[1].split("</table>", 1)[0]
    assert "<code>investigate</code>" in changed and "人工任务" in changed
    assert "责任调查 → 责任调查核实" in changed
    assert 'id="diff-added"' not in page and 'id="diff-removed"' not in page
    same = _text(client.get("/processes/accountability/diff?old=2&new=2"))
    assert "两个版本的流程图和表单没有差别。" in same


def test_the_comparison_page_refuses_a_version_that_does_not_exist_beside_the_field(
    logged_in: Any, world: World
) -> None:
    client, _ = logged_in("designer.hf")
    response = client.get("/processes/accountability/diff?old=7&new=1")
    assert response.status_code == 422
    page = _text(response)
    assert re.search(
        r'<p class="field-error" id="diff-old-error">请选择已部署的版本（第 1 至 1 版）</p>', page
    )
    assert 'aria-invalid="true" aria-describedby="diff-old-error"' in page


def test_clerks_may_not_open_the_comparison(logged_in: Any, world: World) -> None:
    client, _ = logged_in("discipline.hf")
    assert client.get("/processes/accountability/diff").status_code == 403
