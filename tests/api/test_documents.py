"""案件材料 (case documents) over the API and in the domain: upload, list, download byte for byte,
withdraw with a reason; every refusal stores nothing; who may add, withdraw and see."""

from __future__ import annotations

import hashlib
import io
import struct
import zipfile
import zlib
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from flask import Flask
from sqlalchemy import func, select, text

from tests.support import HASHER
from tests.support.world import World
from workflows import access
from workflows.cases import views as case_views
from workflows.documents import formats
from workflows.documents import service as documents
from workflows.documents.models import CaseDocument, DocumentWithdrawal
from workflows.engine.audit import verify
from workflows.engine.models import AuditEvent
from workflows.org import service as org
from workflows.runtime import Runtime

FINDING = {
    "source": "audit",
    "facts": "审计发现违规拨付专项资金",
    "evidence": "审计报告〔2026〕3号",
}


# --- real files, built here ---------------------------------------------------------------


def tiny_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def tiny_png() -> bytes:
    """A 1×1 white PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\xff\xff"))
        + chunk(b"IEND", b"")
    )


def package(*parts: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for part in parts:
            archive.writestr(part, "<?xml version='1.0'?><x/>")
    return buffer.getvalue()


def disguised_exe() -> bytes:
    """The start of a Windows program: 'MZ', a DOS stub, the PE header."""
    return b"MZ" + b"\x90\x00" * 29 + struct.pack("<I", 0x40) + b"PE\x00\x00" + b"\x00" * 200


PDF = tiny_pdf()


# --- helpers ------------------------------------------------------------------------------


def _upload(
    api: Any,
    case_id: int,
    content: bytes | None = PDF,
    filename: str = "立案材料（审计报告）.pdf",
    **fields: Any,
) -> Any:
    data: dict[str, Any] = {key: str(value) for key, value in fields.items()}
    if content is not None:
        data["file"] = (io.BytesIO(content), filename)
    return api.client.post(
        f"/api/v1/cases/{case_id}/documents",
        data=data,
        headers=api._headers(),
        content_type="multipart/form-data",
    )


def _count(rt: Runtime, model: type) -> int:
    with rt.db.reading() as session:
        return int(session.execute(select(func.count()).select_from(model)).scalar_one())


def _audited(rt: Runtime, action: str) -> list[AuditEvent]:
    with rt.db.reading() as session:
        return list(
            session.execute(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            ).scalars()
        )


def _ready_to_decide(world: World) -> Any:
    case = world.open("accountability", data=FINDING)
    world.complete(case, "register", {}, "discipline.hf")
    world.complete(
        case,
        "investigate",
        {"findings": "违规拨付属实", "responsibility": "main_leadership"},
        "discipline.hf",
    )
    world.complete(
        case,
        "consider_tolerance",
        {"consideration": "none", "no_tolerance_reason": "明知故犯，不属于改革创新中的失误"},
        "discipline.hf",
    )
    return case


def _closed_case(world: World) -> Any:
    case = world.open(
        "clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"}
    )
    world.complete(
        case,
        "verify",
        {
            "finding": "partly_true",
            "verified_on": "2026-03-02",
            "reason": "收受购物卡一事属实，其余查无实据",
        },
        "discipline.hf",
    )
    assert world.case(case.id).status == "closed"
    return case


# --- the way through ----------------------------------------------------------------------


def test_upload_list_and_download_byte_for_byte(login: Any, world: World, rt: Runtime) -> None:
    case = world.open("accountability", data=FINDING)
    task = world.task(case, "register")
    clerk = login("discipline.hf")
    added = _upload(clerk, case.id, title="审计报告", task_id=task.id)
    assert added.status_code == 201, added.get_json()
    body = added.get_json()
    assert (body["filename"], body["title"], body["content_type"], body["size"]) == (
        "立案材料（审计报告）.pdf",
        "审计报告",
        "application/pdf",
        len(PDF),
    )
    assert body["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert (body["task_id"], body["task_name"], body["uploaded_by"]) == (
        task.id,
        "立案",
        "discipline.hf",
    )
    assert (body["withdrawn"], body["withdrawal"], body["may_withdraw"]) == (False, None, True)

    listed = clerk.get(f"/cases/{case.id}/documents").get_json()
    assert [item["id"] for item in listed["items"]] == [body["id"]]
    assert (
        listed["may_add"] is True
        and listed["max_bytes"] == 10 * 1024 * 1024
        and ".ofd" in listed["accepted"]
    )
    assert clerk.get(f"/documents/{body['id']}").get_json() == body

    for reader in ("discipline.hf", "zhang", "supervisor.hf"):  # whoever sees the case downloads
        got = login(reader).get(f"/documents/{body['id']}/content")
        assert got.status_code == 200 and got.data == PDF
        assert hashlib.sha256(got.data).hexdigest() == body["sha256"]
    assert got.headers["Content-Type"] == "application/pdf"
    assert got.headers["Content-Disposition"] == (
        "attachment; filename=\"document.pdf\"; filename*=UTF-8''"
        + quote("立案材料（审计报告）.pdf", safe="")
    )
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.headers["Cache-Control"] == "private"

    [row] = _audited(rt, "document.add")
    assert (row.actor, row.object_type, row.object_id, row.instance_id) == (
        "discipline.hf",
        "document",
        str(body["id"]),
        case.instance_id,
    )
    assert '"sha256": "' + body["sha256"] in row.detail and '"role": "discipline"' in row.detail
    assert (
        login("discipline.hf").client.head(f"/api/v1/documents/{body['id']}/content").status_code
        == 200
    )  # not recorded
    # Each download is on the record, with who, as what and from where; not on the case's timeline.
    downloads = _audited(rt, "document.download")
    assert [r.actor for r in downloads] == ["discipline.hf", "zhang", "supervisor.hf"]
    assert {(r.object_type, r.object_id, r.instance_id) for r in downloads} == {
        ("document", str(body["id"]), None)
    }
    assert (
        f'"case_number": "{case.number}"' in downloads[1].detail
        and '"role": "cadre"' in downloads[1].detail
    )
    assert '"ip": "127.0.0.1"' in downloads[2].detail
    with rt.db.reading() as session:
        labels = [entry.label for entry in case_views.timeline(session, world.case(case.id))]
        assert "添加材料" in labels and not [label for label in labels if "下载" in label]
        assert verify(session).ok


def test_each_accepted_kind_is_stored_as_itself(login: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    clerk = login("organization.hf")
    cases = [
        ("现场照片.PNG", tiny_png(), "image/png"),
        (
            "调查报告.docx",
            package("[Content_Types].xml", "word/document.xml"),
            formats.FORMATS[".docx"].content_type,
        ),
        ("处理决定书.ofd", package("OFD.xml", "Doc_0/Document.xml"), "application/ofd"),
        ("情况说明.txt", "经核实，情况属实。\r\n".encode("gb18030"), "text/plain"),
    ]
    for filename, content, kind in cases:
        added = _upload(clerk, case.id, content, filename)
        assert added.status_code == 201, (filename, added.get_json())
        assert added.get_json()["content_type"] == kind
        got = clerk.get(added.get_json()["content_url"].removeprefix("/api/v1"))
        assert (got.data, got.headers["Content-Type"]) == (content, kind)
    assert len(clerk.get(f"/cases/{case.id}/documents").get_json()["items"]) == 4


def test_the_cadre_concerned_adds_to_their_own_case(login: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    added = _upload(login("zhang"), case.id, tiny_png(), "申辩材料.png", title="本人申辩")
    assert added.status_code == 201 and added.get_json()["uploaded_by"] == "zhang"


def test_a_role_with_an_open_task_adds_and_withdraws_only_its_own(login: Any, world: World) -> None:
    case = _ready_to_decide(world)  # 问责决定 waits for committee.hf
    committee = login("committee.hf")
    assert committee.get(f"/cases/{case.id}/documents").get_json()["may_add"] is True
    own = _upload(committee, case.id, title="会议纪要").get_json()
    clerks = _upload(login("discipline.hf"), case.id, title="调查报告").get_json()
    assert (
        committee.post(f"/documents/{clerks['id']}/withdraw", json={"reason": "重复"}).status_code
        == 403
    )
    assert (
        committee.post(
            f"/documents/{own['id']}/withdraw", json={"reason": "传错了文件"}
        ).status_code
        == 200
    )


# --- refusals: nothing is stored ----------------------------------------------------------


BIG = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024 - 9)


@pytest.mark.parametrize(
    ("content", "filename", "field", "message"),
    [
        (b"", "空白.pdf", "file", "文件「空白.pdf」是空的（0 字节）"),
        (BIG + b"0", "过大.pdf", "file", "文件「过大.pdf」超过 10 MB：单个材料不能超过 10 MB"),
        (
            BIG + b"0" * (2 * 1024 * 1024),
            "太大.pdf",
            "file",
            "文件超过 10 MB：单个材料不能超过 10 MB",
        ),
        (
            disguised_exe(),
            "调查报告.pdf",
            "file",
            "文件「调查报告.pdf」的内容是可执行程序，不是PDF文件：不能上传",
        ),
        (
            b"%PDF" + b"\x00" * 20,
            "调查.png",
            "file",
            "文件「调查.png」的内容与扩展名 .png 不符：不是有效的PNG 图片文件",
        ),
        (
            disguised_exe(),
            "setup.exe",
            "file",
            "不接受 .exe 文件「setup.exe」：可上传 " + formats.ACCEPTED,
        ),
        (
            package("a.txt"),
            "材料.zip",
            "file",
            "不接受 .zip 文件「材料.zip」：可上传 " + formats.ACCEPTED,
        ),
        (
            package("a.txt"),
            "调查报告.docx",
            "file",
            "文件「调查报告.docx」的内容与扩展名 .docx 不符：不是有效的Word文件",
        ),
        (
            b"\x00\x01binary",
            "说明.txt",
            "file",
            "文件「说明.txt」的内容与扩展名 .txt 不符：不是有效的纯文本文件",
        ),
        (PDF, "", "file", "文件名不能为空"),
        (PDF, "报" * 197 + ".pdf", "file", "文件名不能超过 200 个字（现有 201 个）"),
        (PDF, "report\u202efdp.exe", "file", "文件名不能包含控制字符"),
        (PDF, "README", "file", "不接受没有扩展名的文件「README」：可上传 " + formats.ACCEPTED),
        (None, "", "file", "请选择要上传的文件"),
    ],
    ids=[
        "empty",
        "too-large",
        "far-too-large",
        "exe-as-pdf",
        "pdf-as-png",
        "exe",
        "zip",
        "zip-as-docx",
        "binary-as-text",
        "no-name",
        "long-name",
        "rtl-override",
        "no-extension",
        "no-file-field",
    ],
)
def test_a_bad_file_is_refused_naming_the_field_and_nothing_is_stored(
    login: Any,
    world: World,
    rt: Runtime,
    content: bytes | None,
    filename: str,
    field: str,
    message: str,
) -> None:
    case = world.open("accountability", data=FINDING)
    refused = _upload(login("discipline.hf"), case.id, content, filename)
    assert refused.status_code == 422, refused.get_json()
    assert refused.mimetype == "application/problem+json"
    errors = refused.get_json()["errors"]
    assert errors == {field: [message]}
    assert _count(rt, CaseDocument) == 0 and _audited(rt, "document.add") == []
    assert [row.detail for row in _audited(rt, "api.refused")][-1].count("422") == 1


def test_bad_title_and_task_are_refused(login: Any, world: World, rt: Runtime) -> None:
    case = world.open("accountability", data=FINDING)
    other = world.open("accountability", data=FINDING)
    clerk = login("discipline.hf")
    long_title = _upload(clerk, case.id, title="标" * 201)
    assert long_title.status_code == 422 and list(long_title.get_json()["errors"]) == ["title"]
    foreign = _upload(clerk, case.id, task_id=world.task(other, "register").id)
    assert foreign.status_code == 422
    assert foreign.get_json()["errors"]["task_id"][0].startswith(f"案件 {case.number} 没有这个环节")
    assert _upload(clerk, case.id, task_id="x").status_code == 422
    assert _count(rt, CaseDocument) == 0


def test_a_closed_case_takes_no_new_documents(login: Any, world: World, rt: Runtime) -> None:
    case = _closed_case(world)
    clerk = login("discipline.hf")
    refused = _upload(clerk, case.id)
    assert refused.status_code == 409
    assert refused.get_json()["detail"] == f"案件 {case.number} 已结案，不能再添加材料"
    assert clerk.get(f"/cases/{case.id}/documents").get_json()["may_add"] is False
    assert _count(rt, CaseDocument) == 0


def test_out_of_jurisdiction_is_not_found_everywhere(login: Any, world: World, rt: Runtime) -> None:
    case = world.open("accountability", data=FINDING)
    doc_id = _upload(login("discipline.hf"), case.id).get_json()["id"]
    for username in ("discipline.wh", "supervisor.wh", "designer.hf"):
        outsider = login(username)
        assert outsider.get(f"/cases/{case.id}/documents").status_code == 404
        assert _upload(outsider, case.id).status_code == 404
        assert outsider.get(f"/documents/{doc_id}").status_code == 404
        assert outsider.get(f"/documents/{doc_id}/content").status_code == 404
        assert (
            outsider.post(f"/documents/{doc_id}/withdraw", json={"reason": "不需要"}).status_code
            == 404
        )
    missing = login("discipline.hf")
    assert missing.get("/documents/999999/content").get_json()["detail"] == "材料 999999 不存在"
    assert missing.get("/documents/99999999999").status_code == 404
    assert _count(rt, CaseDocument) == 1 and _count(rt, DocumentWithdrawal) == 0
    assert (
        _audited(rt, "document.download") == []
    )  # a refused download discloses and records nothing


def test_who_sees_but_does_not_work_on_the_case_may_not_add(
    login: Any, world: World, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    doc_id = _upload(login("discipline.hf"), case.id).get_json()["id"]
    for username in ("supervisor.hf", "admin.hf", "committee.hf", "functional.hf", "unit.hf"):
        reader = login(username)
        assert reader.get(f"/cases/{case.id}/documents").get_json()["may_add"] is False
        refused = _upload(reader, case.id)
        assert refused.status_code == 403, username
        assert refused.get_json()["detail"].startswith("只有办理本案的人员可以添加材料")
        assert (
            reader.post(f"/documents/{doc_id}/withdraw", json={"reason": "不需要"}).status_code
            == 403
        )
    assert _count(rt, CaseDocument) == 1


def test_an_official_who_is_the_cadre_concerned_is_recused(
    login: Any, world: World, rt: Runtime
) -> None:
    with rt.db.transaction() as session:
        org.add_user(
            session,
            hasher=HASHER,
            username="zhang.discipline",
            display_name="张三",
            password="demo-pass-1",
            role="discipline",
            org_unit_code="ah-hf",
            clock=rt.clock,
            cadre_id=world.cadres["zhang"],
        )
    case = world.open("accountability", data=FINDING)
    refused = _upload(login("zhang.discipline"), case.id)
    assert refused.status_code == 403 and refused.get_json()["detail"].startswith(
        "回避：zhang.discipline"
    )


def test_who_handled_the_original_case_keeps_out_of_its_appeals_file(
    login: Any, world: World, rt: Runtime
) -> None:
    original, case = world.accepted_appeal()
    reviewer = login("discipline2.hf")
    added = _upload(reviewer, case.id)
    assert added.status_code == 201, added.get_json()
    doc_id = added.get_json()["id"]
    handled = login("discipline.hf")  # investigated the original case; same unit, same role
    assert handled.get(f"/cases/{case.id}/documents").get_json()["may_add"] is False
    refused = _upload(handled, case.id)
    assert refused.status_code == 403
    assert refused.get_json()["detail"].startswith(
        f"回避：discipline.hf 办理或决定过原案件 {original.number}"
    )
    listed = handled.get(f"/documents/{doc_id}").get_json()
    assert listed["may_withdraw"] is False
    withdrawn = handled.post(f"/documents/{doc_id}/withdraw", json={"reason": "不需要"})
    assert withdrawn.status_code == 403 and withdrawn.get_json()["detail"].startswith("回避：")
    with rt.db.reading() as session:  # the original case holds its generated 问责决定书
        kept = session.execute(
            select(func.count()).where(CaseDocument.case_id == case.id)
        ).scalar_one()
    assert kept == 1 and _count(rt, DocumentWithdrawal) == 0


# --- withdrawal ---------------------------------------------------------------------------


def test_withdrawal_needs_a_reason_keeps_the_record_and_happens_once(
    login: Any, world: World, rt: Runtime
) -> None:
    case = world.open("accountability", data=FINDING)
    doc_id = _upload(login("zhang"), case.id, tiny_png(), "照片.png").get_json()["id"]
    clerk = login("organization.hf")
    for body in ({}, {"reason": "   "}):
        refused = clerk.post(f"/documents/{doc_id}/withdraw", json=body)
        assert refused.status_code == 422 and list(refused.get_json()["errors"]) == ["reason"]
    assert _count(rt, DocumentWithdrawal) == 0
    done = clerk.post(f"/documents/{doc_id}/withdraw", json={"reason": "与本案无关"})
    assert done.status_code == 200
    withdrawal = done.get_json()["withdrawal"]
    assert (done.get_json()["withdrawn"], withdrawal["withdrawn_by"], withdrawal["reason"]) == (
        True,
        "organization.hf",
        "与本案无关",
    )
    again = clerk.post(f"/documents/{doc_id}/withdraw", json={"reason": "再撤一次"})
    assert again.status_code == 409 and "已由 organization.hf 撤回" in again.get_json()["detail"]
    listed = clerk.get(f"/cases/{case.id}/documents").get_json()["items"]
    assert [(item["id"], item["withdrawn"]) for item in listed] == [(doc_id, True)]
    assert clerk.get(f"/documents/{doc_id}/content").data == tiny_png()  # the record stays
    [row] = _audited(rt, "document.withdraw")
    assert (row.actor, row.object_id) == (
        "organization.hf",
        str(doc_id),
    ) and "与本案无关" in row.detail


def test_the_uploader_withdraws_their_own_but_not_anothers(login: Any, world: World) -> None:
    case = world.open("accountability", data=FINDING)
    cadre = login("zhang")
    own = _upload(cadre, case.id, tiny_png(), "照片.png").get_json()["id"]
    clerks = _upload(login("discipline.hf"), case.id).get_json()["id"]
    assert cadre.post(f"/documents/{clerks}/withdraw", json={"reason": "不同意"}).status_code == 403
    assert (
        cadre.post(f"/documents/{own}/withdraw", json={"reason": "照片不清楚"}).status_code == 200
    )


def test_the_database_refuses_changing_or_deleting_a_document(world: World, rt: Runtime) -> None:
    case = world.open("accountability", data=FINDING)
    with rt.db.transaction() as session:
        principal = access.principal_for(session, username="discipline.hf")
        row = documents.add(
            session,
            principal=principal,
            case_id=case.id,
            filename="a.pdf",
            content=PDF,
            clock=rt.clock,
        )
        documents.withdraw(
            session, principal=principal, document_id=row.id, reason="测试", clock=rt.clock
        )
        doc_id = row.id
    for statement in (
        "UPDATE case_document SET filename = 'b.pdf' WHERE id = :id",
        "DELETE FROM case_document WHERE id = :id",
        "UPDATE case_document_withdrawal SET reason = 'x' WHERE document_id = :id",
        "DELETE FROM case_document_withdrawal WHERE document_id = :id",
    ):
        with pytest.raises(Exception, match="append-only"), rt.db.transaction() as session:
            session.execute(text(statement), {"id": doc_id})
    assert _count(rt, CaseDocument) == 1 and _count(rt, DocumentWithdrawal) == 1


def test_answers_match_the_openapi_document(app: Flask, login: Any, world: World) -> None:
    """The generated run (test_schemathesis.py) rarely hits an existing document; these do."""
    case = world.open("accountability", data=FINDING)
    clerk = login("discipline.hf")
    pdf = _upload(clerk, case.id).get_json()["id"]
    note = _upload(clerk, case.id, "情况属实。".encode(), "说明.txt").get_json()["id"]
    clerk.post(f"/documents/{note}/withdraw", json={"reason": "重复"})
    token = clerk.post("/auth/tokens", json={"name": "documents"}).get_json()["token"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    calls = [
        ("/api/v1/cases/{case_id}/documents", {"case_id": case.id}),
        *(
            (path, {"document_id": doc_id})
            for doc_id in (pdf, note)
            for path in (
                "/api/v1/documents/{document_id}",
                "/api/v1/documents/{document_id}/content",
            )
        ),
    ]
    for path, params in calls:
        operation = schema[path]["GET"]
        response = operation.Case(path_parameters=params).call_and_validate(
            headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, path


# --- formats ------------------------------------------------------------------------------


def test_a_downloaded_type_is_only_ever_an_accepted_one() -> None:
    assert (
        "text/html" not in formats.CONTENT_TYPES and "application/zip" not in formats.CONTENT_TYPES
    )
    assert formats.extension("报告.tar.GZ") == ".gz" and formats.extension(".pdf") == ""
    assert formats.matches(formats.FORMATS[".txt"], "第一行\n第二行".encode())
    assert not formats.matches(formats.FORMATS[".pdf"], b"MZ%PDF-1.4")
