"""公文 on the pages: the case page and the 送达 step show the documents with preview (PDF in
the browser) and downloads; a clerk regenerates; the signed 送达回证 is uploaded with its
error beside the field; the cadre's case shows only what was served; the templates page
(administrators and designers) uploads a version, refuses a bad one beside its field, and
keeps the unit's 文号 setting."""

from __future__ import annotations

import io
import re
from typing import Any

from sqlalchemy import update

from tests.support.world import World
from tests.ui.conftest import csrf_of
from workflows.official import build_templates, kinds
from workflows.official.models import OfficialDocument


def _docx(extra: str) -> bytes:
    document = build_templates.accountability_decision()
    document.add_paragraph(extra)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_the_case_page_and_the_serving_step_show_the_document(world: World, logged_in: Any) -> None:
    case = world.undelivered_accountability()
    client, csrf = logged_in("organization.hf")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="official"' in page and "合肥市纪问〔2026〕1号" in page and "问责决定书" in page
    assert "下载 DOCX" in page and "PDF 生成中" in page
    preview_path = re.search(r'href="(/official-documents/\d+/preview)"', page)
    assert preview_path
    shown = client.get(preview_path.group(1))
    assert shown.status_code == 200 and shown.headers["Content-Type"] == "application/pdf"
    assert shown.headers["Content-Disposition"].startswith("inline")
    assert "下载 PDF" in client.get(f"/cases/{case.id}").get_data(as_text=True)

    notify = world.task(case, "notify")
    step = client.get(f"/tasks/{notify.id}").get_data(as_text=True)
    assert "待送达的文书" in step and "合肥市纪问〔2026〕1号" in step
    receipt_form = re.search(r'action="(/official-documents/\d+/receipts\?task_id=\d+)"', step)
    assert receipt_form
    empty = client.post(
        receipt_form.group(1),
        data={"csrf_token": csrf},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422
    refused = empty.get_data(as_text=True)
    assert "请选择要上传的文件" in refused and 'aria-invalid="true"' in refused
    signed = client.post(
        receipt_form.group(1),
        data={"csrf_token": csrf, "file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "回证.pdf")},
        content_type="multipart/form-data",
    )
    assert signed.status_code == 303
    assert "签收的送达回证" in client.get(f"/tasks/{notify.id}").get_data(as_text=True)
    no_token = client.post(
        receipt_form.group(1),
        data={"file": (io.BytesIO(b"%PDF-1.4\n%%EOF\n"), "回证.pdf")},
        content_type="multipart/form-data",
    )
    assert no_token.status_code in (400, 403)


def test_a_clerk_regenerates_and_the_cadre_sees_only_what_was_served(
    world: World, logged_in: Any
) -> None:
    case = world.undelivered_accountability()
    clerk, csrf = logged_in("discipline.hf")
    made = clerk.post(
        f"/cases/{case.id}/official-documents",
        data={"csrf_token": csrf, "kind": kinds.ACCOUNTABILITY},
    )
    assert made.status_code == 303
    page = clerk.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "第 2 版" in page and "已有更新的版本" in page
    bad = clerk.post(
        f"/cases/{case.id}/official-documents", data={"csrf_token": csrf, "kind": "memo"}
    )
    assert bad.status_code == 422 and "不能生成" in bad.get_data(as_text=True)

    zhang, _ = logged_in("zhang")
    mine = zhang.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "还没有送达给您的文书" in mine and "合肥市纪问" not in mine
    world.complete(
        case,
        "notify",
        {"received_on": world.today().isoformat(), "delivery": "in_person"},
        "organization.hf",
    )
    mine = zhang.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "合肥市纪问〔2026〕1号" in mine and "已送达" in mine and "直接送达" in mine
    assert "送达回证" not in mine and "重新生成" not in mine
    home = zhang.get("/mine").get_data(as_text=True)
    assert "合肥市纪问〔2026〕1号" in home


def test_a_failed_pdf_shows_its_error_and_a_clerk_has_it_converted_again(
    world: World, logged_in: Any
) -> None:
    case = world.undelivered_accountability()
    with world.rt.transaction() as session:
        (official_id,) = session.execute(
            update(OfficialDocument)
            .where(
                OfficialDocument.case_id == case.id, OfficialDocument.kind == kinds.ACCOUNTABILITY
            )
            .values(pdf_error="本机未安装 LibreOffice")
            .returning(OfficialDocument.id)
        ).scalars()
    clerk, csrf = logged_in("discipline.hf")
    page = clerk.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "PDF 生成失败：本机未安装 LibreOffice" in page and "重新转换 PDF" in page
    action = f"/official-documents/{official_id}/pdf"
    assert f'action="{action}"' in page
    supervisor, supervisor_csrf = logged_in("supervisor.hf")
    assert "重新转换 PDF" not in supervisor.get(f"/cases/{case.id}").get_data(as_text=True)
    refused = supervisor.post(action, data={"csrf_token": supervisor_csrf})
    assert refused.status_code == 403 and "重新转换" in refused.get_data(as_text=True)
    assert clerk.post(action).status_code in (400, 403)  # no CSRF token
    done = clerk.post(action, data={"csrf_token": csrf})
    assert done.status_code == 303
    shown = clerk.get(done.headers["Location"]).get_data(as_text=True)
    assert "PDF 已生成" in shown and "下载 PDF" in shown and "重新转换 PDF" not in shown
    again = clerk.post(action, data={"csrf_token": csrf})  # a second click: nothing to retry
    assert again.status_code == 303
    assert "已有 PDF" in clerk.get(again.headers["Location"]).get_data(as_text=True)


def test_the_templates_page(world: World, logged_in: Any) -> None:
    designer, csrf = logged_in("designer.hf")
    page = designer.get("/official-templates")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "问责决定书" in html and "送达回证" in html and "{{ case_number }}" in html
    assert "文号设置" not in html  # the numbering setting is the administrators'
    refused = designer.post(
        f"/official-templates/{kinds.ACCOUNTABILITY}",
        data={"csrf_token": csrf, "file": (io.BytesIO(_docx("{{ salary }}")), "模板.docx")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    text = refused.get_data(as_text=True)
    assert "salary" in text and f'id="{kinds.ACCOUNTABILITY}-file-error"' in text
    done = designer.post(
        f"/official-templates/{kinds.ACCOUNTABILITY}",
        data={
            "csrf_token": csrf,
            "note": "第二版",
            "file": (io.BytesIO(_docx("新段落")), "模板.docx"),
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 303
    assert "现行第 2 版" in designer.get("/official-templates").get_data(as_text=True)
    preview = designer.get(f"/official-templates/{kinds.ACCOUNTABILITY}/preview?version=1")
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "application/pdf"

    admin, admin_csrf = logged_in("admin.hf")
    assert "文号设置" in admin.get("/official-templates").get_data(as_text=True)
    form = {f"prefix-{key}": f"合{kind.code}" for key, kind in kinds.KINDS.items() if kind.code}
    blank = admin.post(
        "/official-templates/numbering",
        data={"csrf_token": admin_csrf, "organ": "", **form},
    )
    assert blank.status_code == 422 and 'id="numbering-organ-error"' in blank.get_data(as_text=True)
    saved = admin.post(
        "/official-templates/numbering",
        data={"csrf_token": admin_csrf, "organ": "中共合肥市纪律检查委员会", **form},
    )
    assert saved.status_code == 303
    assert 'value="合纪问"' in admin.get("/official-templates").get_data(as_text=True)

    clerk, _ = logged_in("discipline.hf")
    assert clerk.get("/official-templates").status_code == 403
    assert csrf_of(html)
