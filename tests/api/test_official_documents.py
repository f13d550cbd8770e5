"""公文 over HTTP: the list and (re)generation of a case's documents, downloads through the
document routes (a cadre only what was served on them), the signed 送达回证, the templates
(list, download, upload refused by name, preview) and the 文号 setting; refusals as problem
bodies naming the field, other roles 403, other units 404."""

from __future__ import annotations

import io
from typing import Any

from pypdf import PdfReader
from sqlalchemy import select, update

from tests.support.world import World
from workflows.engine.models import AuditEvent
from workflows.official import build_templates, kinds
from workflows.official.models import OfficialDocument

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _multipart(api: Any, path: str, content: bytes | None, filename: str, **fields: str) -> Any:
    data: dict[str, Any] = dict(fields)
    if content is not None:
        data["file"] = (io.BytesIO(content), filename)
    return api.client.post(
        f"/api/v1{path}", data=data, headers=api._headers(), content_type="multipart/form-data"
    )


def _docx(extra: str) -> bytes:
    document = build_templates.accountability_decision()
    document.add_paragraph(extra)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_the_case_lists_its_documents_and_a_clerk_regenerates_one(world: World, login: Any) -> None:
    case = world.undelivered_accountability()
    clerk = login("discipline.hf")
    listed = clerk.get(f"/cases/{case.id}/official-documents")
    assert listed.status_code == 200, listed.json
    body = listed.json
    assert body["may_generate"] is True
    assert body["kinds"] == [kinds.ACCOUNTABILITY, kinds.RECEIPT]
    decision = next(i for i in body["items"] if i["kind"] == kinds.ACCOUNTABILITY)
    assert decision["number"] == "合肥市纪问〔2026〕1号" and decision["title"] == "问责决定书"
    assert (decision["issue"], decision["version"], decision["current"]) == (1, 1, True)
    assert decision["pdf_status"] == "pending" and decision["pdf_url"] is None
    docx = clerk.get(decision["docx_url"].removeprefix("/api/v1"))
    assert docx.status_code == 200 and docx.data.startswith(b"PK")

    again = clerk.post(f"/cases/{case.id}/official-documents", json={"kind": kinds.ACCOUNTABILITY})
    assert again.status_code == 201, again.json
    made = again.json
    assert (made["issue"], made["version"], made["number"]) == (1, 2, decision["number"])
    assert made["pdf_status"] == "ready", made["pdf_error"]
    printed = clerk.get(made["pdf_url"].removeprefix("/api/v1"))
    assert printed.status_code == 200 and printed.headers["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(printed.data)).pages)
    assert case.number.replace("-", "") in text.replace("-", "").replace("\n", "")
    versions = [
        (i["version"], i["current"])
        for i in clerk.get(f"/cases/{case.id}/official-documents").json["items"]
        if i["kind"] == kinds.ACCOUNTABILITY
    ]
    assert versions == [(2, True), (1, False)]  # the old version stays, listed


def _failed(world: World, official_id: int, error: str) -> None:
    """The document as a failed conversion left it (no PDF, the failure kept)."""
    with world.rt.transaction() as session:
        session.execute(
            update(OfficialDocument)
            .where(OfficialDocument.id == official_id)
            .values(pdf_error=error)
        )


def test_a_failed_pdf_is_converted_again_on_request(world: World, login: Any) -> None:
    case = world.undelivered_accountability()
    clerk = login("discipline.hf")
    path = f"/cases/{case.id}/official-documents"
    decision = next(i for i in clerk.get(path).json["items"] if i["kind"] == kinds.ACCOUNTABILITY)
    retry = f"/official-documents/{decision['id']}/pdf"
    pending = clerk.post(retry)  # no failure to retry: the conversion has not run yet
    assert pending.status_code == 409 and "正在生成" in pending.json["detail"]
    _failed(world, decision["id"], "转换 PDF 超时（60 秒）")
    shown = clerk.get(f"/official-documents/{decision['id']}").json
    assert (shown["pdf_status"], shown["may_retry_pdf"]) == ("failed", True)
    assert (
        login("organization.hf").get(f"/official-documents/{decision['id']}").json["may_retry_pdf"]
    )
    supervisor = login("supervisor.hf")
    assert supervisor.get(f"/official-documents/{decision['id']}").json["may_retry_pdf"] is False
    refused = supervisor.post(retry)
    assert refused.status_code == 403 and "重新转换" in refused.json["detail"]
    assert login("discipline.wh").post(retry).status_code == 404
    assert login("zhang").post(retry).status_code == 404  # not served on the cadre yet
    assert clerk.post("/official-documents/999999/pdf").status_code == 404

    done = clerk.post(retry)
    assert done.status_code == 200, done.json
    assert (done.json["pdf_status"], done.json["pdf_error"]) == ("ready", None)
    assert done.json["may_retry_pdf"] is False
    printed = clerk.get(done.json["pdf_url"].removeprefix("/api/v1"))
    assert printed.status_code == 200 and printed.data.startswith(b"%PDF")
    with world.rt.db.reading() as session:
        (event,) = session.execute(
            select(AuditEvent).where(AuditEvent.action == "official_document.pdf_retry")
        ).scalars()
    assert event.actor == "discipline.hf" and event.object_id == str(decision["id"])
    assert "转换 PDF 超时（60 秒）" in event.detail
    again = clerk.post(retry)
    assert again.status_code == 409 and "已有 PDF" in again.json["detail"]


def test_generation_refusals(world: World, login: Any) -> None:
    case = world.undelivered_accountability()
    path = f"/cases/{case.id}/official-documents"
    clerk = login("discipline.hf")
    for body in ({}, {"kind": "memo"}, {"kind": kinds.CLARIFICATION}):
        refused = clerk.post(path, json=body)
        assert refused.status_code == 422, refused.json
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert "kind" in refused.json["errors"]
    for username in ("supervisor.hf", "admin.hf", "designer.hf", "zhang", "functional.hf"):
        assert login(username).post(path, json={"kind": kinds.ACCOUNTABILITY}).status_code in (
            403,
            404,
        ), username
    assert login("zhang").post(path, json={"kind": kinds.ACCOUNTABILITY}).status_code == 403
    assert login("discipline.wh").post(path, json={"kind": kinds.ACCOUNTABILITY}).status_code == 404
    assert login("discipline.wh").get(path).status_code == 404
    listed = clerk.get(path).json["items"]
    assert len(listed) == 2  # nothing was added


def test_the_cadre_reads_the_document_once_served_and_the_receipt_is_linked(
    world: World, login: Any
) -> None:
    case = world.undelivered_accountability()
    zhang, clerk = login("zhang"), login("organization.hf")
    items = clerk.get(f"/cases/{case.id}/official-documents").json["items"]
    decision = next(i for i in items if i["kind"] == kinds.ACCOUNTABILITY)
    assert zhang.get(f"/cases/{case.id}/official-documents").json["items"] == []
    assert zhang.get(decision["docx_url"].removeprefix("/api/v1")).status_code == 404
    assert zhang.get(f"/official-documents/{decision['id']}").status_code == 404

    world.complete(
        case,
        "notify",
        {"received_on": world.today().isoformat(), "delivery": "mail"},
        "organization.hf",
    )
    seen = zhang.get(f"/cases/{case.id}/official-documents").json
    assert [i["kind"] for i in seen["items"]] == [kinds.ACCOUNTABILITY]
    assert seen["may_generate"] is False
    served = seen["items"][0]
    assert served["services"][0]["manner_name"] == "邮寄送达"
    assert served["services"][0]["note"] is None
    assert "（" not in served["generated_by_name"] and served["generated_by_name"].endswith("委")
    assert zhang.get(served["docx_url"].removeprefix("/api/v1")).status_code == 200

    assert (
        _multipart(
            zhang, f"/official-documents/{decision['id']}/receipts", PDF, "回证.pdf"
        ).status_code
        == 403
    )
    bad = _multipart(clerk, f"/official-documents/{decision['id']}/receipts", b"MZ\x90", "回证.pdf")
    assert bad.status_code == 422 and "file" in bad.json["errors"]
    signed = _multipart(clerk, f"/official-documents/{decision['id']}/receipts", PDF, "回证.pdf")
    assert signed.status_code == 201, signed.json
    (url,) = signed.json["receipt_urls"]
    assert clerk.get(url.removeprefix("/api/v1")).data == PDF


def test_templates_are_managed_by_administrators_and_designers(world: World, login: Any) -> None:
    designer = login("designer.hf")
    listed = designer.get("/official-templates")
    assert listed.status_code == 200
    body = listed.json
    assert [i["kind"] for i in body["items"]] == list(kinds.KINDS)
    assert "case_number" in body["placeholders"]
    first = body["items"][0]
    assert first["current"]["version"] == 1 and first["current"]["uploaded_by"] is None
    shipped = designer.get(first["current"]["content_url"].removeprefix("/api/v1"))
    assert shipped.status_code == 200 and shipped.data.startswith(b"PK")
    assert "attachment" in shipped.headers["Content-Disposition"]

    path = f"/official-templates/{kinds.ACCOUNTABILITY}"
    for content, filename, says in (
        (b"plain text", "模板.txt", "不是 Word 文档"),
        (_docx("{{ salary }}"), "模板.docx", "{{ salary }}"),
        (None, "模板.docx", "请选择"),
    ):
        refused = _multipart(designer, path, content, filename)
        assert refused.status_code == 422, refused.json
        assert says in refused.json["errors"]["file"][0]
    made = _multipart(login("admin.hf"), path, _docx("新增一段"), "新模板.docx", note="增加说明")
    assert made.status_code == 201, made.json
    assert (made.json["version"], made.json["note"]) == (2, "增加说明")
    for username in ("discipline.hf", "committee.hf", "zhang", "supervisor.hf"):
        user = login(username)
        assert user.get("/official-templates").status_code == 403, username
        assert _multipart(user, path, _docx("x"), "x.docx").status_code == 403, username
        assert user.get(f"{path}/preview").status_code == 403, username
    preview = designer.get(f"{path}/preview")
    assert preview.status_code == 200 and preview.headers["Content-Type"] == "application/pdf"
    assert preview.headers["Content-Disposition"].startswith("inline")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(preview.data)).pages)
    assert "新增一段" in text.replace(" ", "")
    assert designer.get("/official-templates/memo/preview").status_code == 404


def test_the_numbering_setting(world: World, login: Any) -> None:
    admin = login("admin.hf")
    shown = admin.get("/admin/official-numbering/ah-hf")
    assert shown.status_code == 200
    assert shown.json["configured"] is False
    assert shown.json["prefixes"][kinds.ACCOUNTABILITY] == "合肥市纪问"
    put = admin.put(
        "/admin/official-numbering/ah-hf",
        json={
            "organ": "中共合肥市纪律检查委员会",
            "prefixes": {kinds.ACCOUNTABILITY: "合纪问"},
            "copy_to": "中共合肥市委组织部",
        },
    )
    assert put.status_code == 200, put.json
    assert put.json["prefixes"][kinds.ACCOUNTABILITY] == "合纪问" and put.json["configured"]
    refused = admin.put("/admin/official-numbering/ah-hf", json={"organ": "", "prefixes": {}})
    assert refused.status_code == 422 and "organ" in refused.json["errors"]
    refused = admin.put(
        "/admin/official-numbering/ah-hf", json={"organ": "x", "prefixes": {"memo": "x"}}
    )
    assert refused.status_code == 422 and "prefixes.memo" in refused.json["errors"]
    assert admin.get("/admin/official-numbering/ah-wh").status_code == 404
    assert login("discipline.hf").get("/admin/official-numbering/ah-hf").status_code == 403
    case = world.undelivered_accountability()
    items = login("discipline.hf").get(f"/cases/{case.id}/official-documents").json["items"]
    assert any(i["number"] == "合纪问〔2026〕1号" for i in items)
