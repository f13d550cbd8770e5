"""案件材料 on the pages: upload from the task page, see it on the case page, download it, withdraw
it with a reason; CSRF, a bad file answered beside the field, and who sees the forms."""

from __future__ import annotations

import io
import re
from typing import Any

from flask.testing import FlaskClient
from sqlalchemy import func, select

from tests.api.test_documents import PDF, disguised_exe, tiny_png
from tests.support.world import World
from workflows.cases.models import CaseFile
from workflows.documents.models import CaseDocument, DocumentWithdrawal
from workflows.engine.models import AuditEvent
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}
NAME = "调查报告（初稿）.pdf"


def _upload(
    client: FlaskClient,
    action: str,
    csrf: str | None,
    content: bytes = PDF,
    filename: str = NAME,
    **form: str,
) -> Any:
    data: dict[str, Any] = {"file": (io.BytesIO(content), filename), **form}
    if csrf is not None:
        data["csrf_token"] = csrf
    return client.post(action, data=data, content_type="multipart/form-data")


def _error_of(html: str, field_id: str) -> str:
    found = re.search(rf'<p class="field-error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    return found.group(1) if found else ""


def _count(rt: Runtime, model: type) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _action(html: str) -> str:
    found = re.search(
        r'<form method="post" enctype="multipart/form-data" novalidate\s+action="([^"]+)"', html
    )
    assert found, "no upload form in the page"
    return found.group(1).replace("&amp;", "&")


def _register(world: World) -> tuple[CaseFile, int]:
    case = world.open("accountability", data=FINDING)
    return case, world.task(case, "register").id


def test_upload_on_the_task_page_shows_on_the_case_page_and_downloads(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case, task_id = _register(world)
    client, csrf = logged_in("discipline.hf")
    page = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert '<h2 id="documents-title">案件材料</h2>' in page and "审计发现违规拨付专项资金" in page
    assert '<input type="file" id="doc-file" name="file"' in page and 'accept=".pdf,.ofd,' in page
    action = _action(page)
    assert action == f"/cases/{case.id}/documents?task_id={task_id}"

    done = _upload(client, action, csrf, title="审计报告")
    assert done.status_code == 303 and done.headers["Location"] == f"/tasks/{task_id}#documents"
    back = client.get(f"/tasks/{task_id}").get_data(as_text=True)
    assert f"已添加材料：{NAME}" in back and "环节：立案" in back

    case_page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert '<section class="card" id="documents"' in case_page
    assert f">{NAME}</a>" in case_page and "审计报告" in case_page and "discipline.hf" in case_page
    assert "添加材料（" in case_page  # the history names it
    link = re.search(r'href="(/documents/\d+/download)" download translate="no">', case_page)
    assert link
    got = client.get(link.group(1))
    assert got.status_code == 200 and got.data == PDF
    assert got.headers["Content-Disposition"].startswith(
        'attachment; filename="document.pdf"; filename*=UTF-8'
    )
    assert (
        got.headers["X-Content-Type-Options"] == "nosniff"
        and got.headers["Cache-Control"] == "private"
    )

    cadre, _ = logged_in("zhang")  # the cadre concerned sees it and downloads it
    assert f">{NAME}</a>" in cadre.get(f"/cases/{case.id}").get_data(as_text=True)
    assert cadre.get(link.group(1)).data == PDF
    with rt.db.reading() as session:  # both downloads are on the audit record
        assert session.execute(
            select(AuditEvent.actor)
            .where(AuditEvent.action == "document.download")
            .order_by(AuditEvent.id)
        ).scalars().all() == ["discipline.hf", "zhang"]


def test_an_upload_without_the_csrf_token_is_refused(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case, _task_id = _register(world)
    client, _csrf = logged_in("discipline.hf")
    refused = _upload(client, f"/cases/{case.id}/documents", None)
    assert refused.status_code == 403 and "CSRF 校验失败" in refused.get_data(as_text=True)
    wrong = _upload(client, f"/cases/{case.id}/documents", "not-the-token")
    assert wrong.status_code == 403
    assert _count(rt, CaseDocument) == 0


def test_a_bad_file_is_answered_beside_the_field(logged_in: Any, world: World, rt: Runtime) -> None:
    case, task_id = _register(world)
    client, csrf = logged_in("discipline.hf")
    action = f"/cases/{case.id}/documents?task_id={task_id}"
    refused = _upload(client, action, csrf, disguised_exe(), "调查报告.pdf", title="调查报告")
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert (
        _error_of(html, "doc-file")
        == "文件「调查报告.pdf」的内容是可执行程序，不是PDF文件：不能上传"
    )
    assert 'aria-describedby="doc-file-help doc-file-error" autofocus aria-invalid="true"' in html
    assert 'value="调查报告"' in html and '<details class="upload" open>' in html
    assert "<h1>立案" in html  # still the task page
    empty = _upload(client, f"/cases/{case.id}/documents", csrf, b"", "空.pdf")
    assert empty.status_code == 422 and f'<h1><span translate="no">{case.number}' in empty.get_data(
        as_text=True
    )
    assert _error_of(empty.get_data(as_text=True), "doc-file") == "文件「空.pdf」是空的（0 字节）"
    none_chosen = _upload(client, action, csrf, b"", "")
    assert _error_of(none_chosen.get_data(as_text=True), "doc-file") == "请选择要上传的文件"
    assert _count(rt, CaseDocument) == 0


def test_withdraw_needs_a_reason_and_strikes_the_document_through(
    logged_in: Any, world: World, rt: Runtime
) -> None:
    case, _task_id = _register(world)
    client, csrf = logged_in("discipline.hf")
    _upload(client, f"/cases/{case.id}/documents", csrf, tiny_png(), "现场照片.png")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    doc_id = int(re.search(r'id="document-(\d+)"', page).group(1))  # type: ignore[union-attr]
    assert f'action="/documents/{doc_id}/withdraw"' in page
    blank = client.post(f"/documents/{doc_id}/withdraw", data={"csrf_token": csrf, "reason": "  "})
    assert blank.status_code == 422
    assert (
        _error_of(blank.get_data(as_text=True), f"withdraw-{doc_id}-reason")
        == "请说明撤回理由（1–1000 个字）"
    )
    assert _count(rt, DocumentWithdrawal) == 0
    done = client.post(
        f"/documents/{doc_id}/withdraw", data={"csrf_token": csrf, "reason": "照片与本案无关"}
    )
    assert done.status_code == 303 and done.headers["Location"] == f"/cases/{case.id}#documents"
    after = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert (
        '<li class="case-doc withdrawn"' in after
        and '已撤回（<span translate="no">discipline hf（合肥市·纪检监察机关）</span>，' in after
        and "照片与本案无关" in after
    )
    assert f'action="/documents/{doc_id}/withdraw"' not in after


def test_the_forms_show_only_to_those_who_may_use_them(logged_in: Any, world: World) -> None:
    case, _task_id = _register(world)
    clerk, csrf = logged_in("discipline.hf")
    _upload(clerk, f"/cases/{case.id}/documents", csrf)
    supervisor, _ = logged_in("supervisor.hf")
    page = supervisor.get(f"/cases/{case.id}").get_data(as_text=True)
    assert f">{NAME}</a>" in page
    assert 'name="file"' not in page and "/withdraw" not in page
    cadre, _ = logged_in("zhang")
    own = cadre.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'name="file"' in own and "/withdraw" not in own  # adds, but withdraws only their own
    outsider, _ = logged_in("discipline.wh")
    assert outsider.get(f"/cases/{case.id}").status_code == 404
    assert (
        outsider.get(re.search(r'href="(/documents/\d+/download)"', page).group(1)).status_code
        == 404
    )  # type: ignore[union-attr]
