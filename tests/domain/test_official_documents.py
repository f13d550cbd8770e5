"""Official documents (公文, DOMAIN.md §7) on both backends with the real converter: each
deciding step issues its document with the unit's next 文号; the DOCX (read back with
python-docx) and the PDF (read with pypdf) say what the case's records say; fonts are
embedded; regenerating keeps the old version; a 退回 supersedes the document; a cadre reads
only what was served on them; a template is refused naming its problem."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import re
import subprocess
import zipfile
from typing import Any

import docx
import pytest
from pypdf import PdfReader
from sqlalchemy import delete, func, select

from tests.support.world import World, make_world
from workflows import access
from workflows.cases import tolerance
from workflows.cases.models import CaseFile
from workflows.documents import service as documents
from workflows.documents.models import CaseDocument
from workflows.engine import audit
from workflows.engine.models import AuditEvent, RecordSupersession
from workflows.errors import Conflict, Forbidden, NotFound, ValidationFailed
from workflows.official import (
    build_templates,
    kinds,
    numbering,
    pdf,
    service,
    templates,
    views,
)
from workflows.official.models import OfficialDocument, OfficialService
from workflows.runtime import Runtime
from workflows.tasks import going_back

DECIDED = "对违规拨付负主要领导责任"


def _world(rt: Runtime) -> World:
    return make_world(rt)


def _official(w: World, case: CaseFile, kind: str | None = None) -> list[OfficialDocument]:
    with w.rt.db.reading() as session:
        query = select(OfficialDocument).where(OfficialDocument.case_id == case.id)
        if kind is not None:
            query = query.where(OfficialDocument.kind == kind)
        return list(session.execute(query.order_by(OfficialDocument.id)).scalars())


def _file(w: World, document_id: int) -> CaseDocument:
    with w.rt.db.reading() as session:
        found = session.get(CaseDocument, document_id)
        assert found is not None
        _ = found.content
        return found


def _docx_text(content: bytes) -> str:
    read = docx.Document(io.BytesIO(content))
    lines = [p.text for p in read.paragraphs]
    lines += [cell.text for table in read.tables for row in table.rows for cell in row.cells]
    return "\n".join(lines)


def _flat(text: str) -> str:
    """Text without the line breaks and spaces a PDF's layout puts in."""
    return re.sub(r"\s+", "", text)


def _pdf_text(content: bytes) -> str:
    return _flat("".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages))


def _principal(w: World, username: str) -> access.Principal:
    with w.rt.db.reading() as session:
        return access.principal_for(session, username=username)


def _converted(w: World, row: OfficialDocument) -> bytes:
    pdf.convert_pending(w.rt.db, clock=w.rt.clock, case_id=row.case_id)
    with w.rt.db.reading() as session:
        again = session.get(OfficialDocument, row.id)
        assert again is not None
        assert again.pdf_error is None and again.pdf_document_id is not None
        return _file(w, again.pdf_document_id).content


# --- the five kinds -------------------------------------------------------------------------


def _accountability(w: World) -> tuple[CaseFile, list[str]]:
    case = w.undelivered_accountability()
    return case, [
        "张三",
        "合肥市某局局长",
        "审计发现违规拨付专项资金",
        "降职",
        DECIDED,
        "第六条",
        "2年内不得提拔重用",
        "1个月内",
    ]


def _tolerance(w: World) -> tuple[CaseFile, list[str]]:
    case = w.open(
        "tolerance_review",
        data={
            "origin": "application",
            "applicant": "unit",
            "facts": "推进园区改革试点中审批流程出现失误",
            "reasons": "属于先行先试中的失误",
        },
    )
    w.complete(
        case,
        "accept",
        {"acceptance": "accept", "verification": "skip", "skip_reason": "事实已查清"},
        "discipline.hf",
    )
    poles: dict[str, Any] = {}
    for key, *_ in tolerance.ELEMENTS:
        poles[key] = "unfavourable" if key == "nature" else "favourable"
        poles[f"{key}_reason"] = f"{key} 研判依据"
    for key, _ in tolerance.DISTINCTIONS:
        poles[key], poles[f"{key}_note"] = True, "属于可容的一端"
    w.complete(case, "analyse", poles, "discipline.hf")
    w.complete(
        case,
        "determine",
        {"opinion": "reject", "opinion_reason": "属于违纪违法行为，不予容错"},
        "discipline.hf",
    )
    w.complete(case, "approve", {"approval": "approve"}, "committee.hf")
    return case, [
        "推进园区改革试点中审批流程出现失误",
        "不予容错",
        "属于违纪违法行为，不予容错",
        "不予容错的说明",
        "性质程度：违纪违法行为",
        "第十条",
    ]


def _appeal(w: World) -> tuple[CaseFile, list[str]]:
    original, case = w.accepted_appeal()
    w.complete(
        case,
        "review",
        {"outcome": "uphold", "reason": "原决定事实清楚、处理恰当"},
        "discipline2.hf",
    )
    return case, [original.number, "处理过重", "维持原决定", "原决定事实清楚、处理恰当", "第二十条"]


def _rectification(w: World) -> tuple[CaseFile, list[str]]:
    case = w.open(
        "rectification",
        user="organization.hf",
        data={
            "requirements": "完善专项资金拨付审批程序",
            "deadline": "2026-06-30",
            "basis": "tolerance",
            "issued_by": "committee.hf",
        },
    )
    w.complete(
        case,
        "issue_org",
        {"requirements": "完善专项资金拨付审批程序，追回资金", "deadline": "2026-06-30"},
        "organization.hf",
    )
    return case, ["完善专项资金拨付审批程序，追回资金", "二〇二六年六月三十日", "第十二条"]


def _clarification(w: World) -> tuple[CaseFile, list[str]]:
    case = w.open("clarification", data={"report": "反映张三收受好处", "trigger": "cadre_request"})
    w.complete(
        case,
        "verify",
        {
            "finding": "untrue",
            "verified_on": "2026-03-02",
            "reason": "经调取审批档案、询问相关人员，所反映问题查无实据",
        },
        "discipline.hf",
    )
    w.complete(
        case,
        "clarify",
        {
            "form": "talk",
            "scope": "unit",
            "done_on": "2026-03-02",
            "content": "在单位干部大会上说明核实情况，当面谈话消除顾虑",
        },
        "organization.hf",
    )
    return case, ["反映张三收受好处", "所反映问题查无实据", "谈话", "所在单位", "第十二条"]


FLOWS = {
    kinds.ACCOUNTABILITY: _accountability,
    kinds.TOLERANCE: _tolerance,
    kinds.APPEAL: _appeal,
    kinds.RECTIFICATION: _rectification,
    kinds.CLARIFICATION: _clarification,
}


@pytest.mark.parametrize("kind", list(FLOWS))
def test_the_deciding_step_issues_the_document_in_docx_and_pdf(rt: Runtime, kind: str) -> None:
    w = _world(rt)
    case, says = FLOWS[kind](w)
    (row,) = _official(w, case, kind)
    title = kinds.KINDS[kind].title
    assert (row.issue, row.version, row.template_version) == (1, 1, 1)
    assert row.number == f"合肥市{kinds.KINDS[kind].code}〔2026〕1号"
    file = _file(w, row.docx_document_id)
    assert file.sha256 == hashlib.sha256(file.content).hexdigest() and file.case_id == case.id
    text = _docx_text(file.content)
    for expected in [
        title,
        row.number,
        case.number,
        "张三",
        "中共合肥市委员会",
        "二〇二六年三月二日",
        *says,
    ]:
        assert expected in text, (expected, text)
    assert "{{" not in text and "{%" not in text
    printed = _pdf_text(_converted(w, row))
    for expected in [title, row.number, case.number, "张三", *says]:
        assert _flat(expected) in printed, (expected, printed)
    receipts = _official(w, case, kinds.RECEIPT)
    assert len(receipts) == (1 if kinds.KINDS[kind].served else 0)
    with w.rt.db.reading() as session:
        audited = session.execute(
            select(func.count()).where(
                AuditEvent.action == "official_document.generate",
                AuditEvent.object_id == str(row.id),
            )
        ).scalar_one()
    assert audited == 1
    with w.rt.db.reading() as session:
        assert audit.verify(session).ok


def test_the_pdf_embeds_its_fonts(rt: Runtime) -> None:
    w = _world(rt)
    case, _ = _accountability(w)
    (row,) = _official(w, case, kinds.ACCOUNTABILITY)
    content = _converted(w, row)
    listed = subprocess.run(
        ["pdffonts", "-"], input=content, capture_output=True, check=True, timeout=30
    ).stdout.decode()
    fonts = listed.splitlines()[2:]
    assert fonts, listed
    assert all(line.split()[-5] == "yes" for line in fonts), listed  # the "emb" column
    assert any("UKai" in line for line in fonts), listed  # 仿宋's substitute for the body


def test_receipt_names_the_served_document(rt: Runtime) -> None:
    w = _world(rt)
    case, _ = _accountability(w)
    (receipt,) = _official(w, case, kinds.RECEIPT)
    text = _docx_text(_file(w, receipt.docx_document_id).content)
    assert "送达回证" in text and "问责决定书（合肥市纪问〔2026〕1号）" in text
    assert "受送达人签名" in text and receipt.number is None


# --- 文号 ------------------------------------------------------------------------------------


def test_numbers_follow_each_other_per_unit_and_year_and_the_units_setting(rt: Runtime) -> None:
    w = _world(rt)
    first, _ = _accountability(w)
    second, _ = _accountability(w)
    assert [r.number for r in _official(w, first, kinds.ACCOUNTABILITY)] == [
        "合肥市纪问〔2026〕1号"
    ]
    assert [r.number for r in _official(w, second, kinds.ACCOUNTABILITY)] == [
        "合肥市纪问〔2026〕2号"
    ]
    with rt.transaction() as session:
        numbering.put(
            session,
            principal=_principal(w, "admin.hf"),
            org_unit_code="ah-hf",
            organ="中共合肥市纪律检查委员会",
            prefixes={kinds.ACCOUNTABILITY: "合纪问"},
            copy_to="中共合肥市委组织部",
            clock=rt.clock,
        )
        assert numbering.allocate(session, org_unit_code="ah-wh", prefix="芜纪问", year=2026) == 1
        assert numbering.allocate(session, org_unit_code="ah-hf", prefix="合纪问", year=2027) == 1
    third, _ = _accountability(w)
    (row,) = _official(w, third, kinds.ACCOUNTABILITY)
    assert row.number == "合纪问〔2026〕1号"  # a new prefix counts from 1
    text = _docx_text(_file(w, row.docx_document_id).content)
    assert "中共合肥市纪律检查委员会" in text and "抄送：中共合肥市委组织部。" in text


def test_a_bad_numbering_setting_is_refused_naming_the_field(rt: Runtime) -> None:
    w = _world(rt)
    with rt.transaction() as session:
        for organ, prefixes, field in (
            ("", {}, "organ"),
            ("某机关", {"nonsense": "x"}, "prefixes.nonsense"),
            ("某机关", {kinds.ACCOUNTABILITY: "皖〔纪"}, f"prefixes.{kinds.ACCOUNTABILITY}"),
            ("某机关", {kinds.ACCOUNTABILITY: ""}, f"prefixes.{kinds.ACCOUNTABILITY}"),
        ):
            with pytest.raises(ValidationFailed) as refused:
                numbering.put(
                    session,
                    principal=_principal(w, "admin.hf"),
                    org_unit_code="ah-hf",
                    organ=organ,
                    prefixes=prefixes,
                    copy_to="",
                    clock=rt.clock,
                )
            assert refused.value.errors[0]["field"] == field
        assert not numbering.of_unit(session, "ah-hf").configured
    assert w.cadres


# --- versions, going back, service ----------------------------------------------------------


def _docx_with(text: str) -> bytes:
    document = build_templates.accountability_decision()
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_regenerating_after_a_template_change_keeps_the_old_version(rt: Runtime) -> None:
    w = _world(rt)
    case, _ = _accountability(w)
    (first,) = _official(w, case, kinds.ACCOUNTABILITY)
    old = _file(w, first.docx_document_id)
    with rt.transaction() as session:
        uploaded = templates.upload(
            session,
            principal=_principal(w, "admin.hf"),
            key=kinds.ACCOUNTABILITY,
            filename="问责决定书.docx",
            content=_docx_with("本决定自送达之日起生效。"),
            note="加生效说明",
            clock=rt.clock,
        )
    assert uploaded.version == 2
    with rt.transaction() as session:
        again = service.generate(
            session,
            principal=_principal(w, "discipline.hf"),
            case_id=case.id,
            kind=kinds.ACCOUNTABILITY,
            clock=rt.clock,
        )
        assert (again.issue, again.version, again.number) == (1, 2, first.number)
        assert again.template_version == 2
    rows = _official(w, case, kinds.ACCOUNTABILITY)
    assert [(r.version, r.template_version) for r in rows] == [(1, 1), (2, 2)]
    assert _file(w, first.docx_document_id).sha256 == old.sha256  # the old one is kept as it was
    assert "本决定自送达之日起生效。" in _docx_text(_file(w, rows[1].docx_document_id).content)
    assert "本决定自送达之日起生效。" not in _docx_text(old.content)


def test_generating_is_for_the_units_clerks_and_committee(rt: Runtime) -> None:
    w = _world(rt)
    case, _ = _accountability(w)
    for username, error in (
        ("supervisor.hf", Forbidden),
        ("admin.hf", Forbidden),
        ("zhang", Forbidden),
        ("discipline.wh", NotFound),
    ):
        with rt.transaction() as session, pytest.raises(error):
            service.generate(
                session,
                principal=_principal(w, username),
                case_id=case.id,
                kind=kinds.ACCOUNTABILITY,
                clock=rt.clock,
            )
    with rt.transaction() as session, pytest.raises(ValidationFailed) as refused:
        service.generate(
            session,
            principal=_principal(w, "discipline.hf"),
            case_id=case.id,
            kind=kinds.CLARIFICATION,
            clock=rt.clock,
        )
    assert refused.value.errors[0]["field"] == "kind"
    assert len(_official(w, case)) == 2  # the decision and its receipt, nothing more


def test_sending_the_decision_back_supersedes_its_document(rt: Runtime) -> None:
    w = _world(rt)
    case, _ = _accountability(w)
    with rt.transaction() as session:  # a version regenerated before the 退回 goes with it
        service.generate(
            session,
            principal=_principal(w, "discipline.hf"),
            case_id=case.id,
            kind=kinds.ACCOUNTABILITY,
            clock=rt.clock,
        )
    notify = w.task(case, "notify")
    with rt.transaction() as session:
        going_back.send_back(
            session,
            principal=_principal(w, "organization.hf"),
            task_id=notify.id,
            to_step="decide",
            reason="决定书载明的调整方式有误，重新决定",
            clock=rt.clock,
        )
    with rt.db.reading() as session:
        superseded = set(
            session.execute(
                select(RecordSupersession.record_id).where(
                    RecordSupersession.record_table == "official_document"
                )
            ).scalars()
        )
    versions = _official(w, case, kinds.ACCOUNTABILITY)
    assert [r.version for r in versions] == [1, 2] and versions[0].id in superseded
    assert versions[1].id not in superseded  # written on demand, not by the step
    with rt.db.reading() as session:
        shown = views.of_case(session, principal=_principal(w, "discipline.hf"), case_id=case.id)
    assert all(item.superseded and not item.current for item in shown.items)
    assert len(shown.items) == 3
    w.complete(
        case,
        "decide",
        {
            "outcome": "adjustment",
            "adjustment": "transfer",
            "decided_on": w.today().isoformat(),
            "reason": DECIDED,
        },
        "committee.hf",
    )
    rows = _official(w, case, kinds.ACCOUNTABILITY)
    assert [(r.issue, r.version, r.number) for r in rows] == [
        (1, 1, "合肥市纪问〔2026〕1号"),
        (1, 2, "合肥市纪问〔2026〕1号"),
        (2, 1, "合肥市纪问〔2026〕2号"),
    ]
    assert "调离岗位" in _docx_text(_file(w, rows[2].docx_document_id).content)


def test_the_cadre_reads_only_what_was_served_on_them(rt: Runtime) -> None:
    w = _world(rt)
    case, _ = _accountability(w)
    (decision,) = _official(w, case, kinds.ACCOUNTABILITY)
    (receipt,) = _official(w, case, kinds.RECEIPT)
    zhang = _principal(w, "zhang")

    def readable() -> set[int]:
        with rt.db.reading() as session:
            return {
                listed.document.id
                for listed in documents.documents_of(session, principal=zhang, case_id=case.id)
            }

    assert decision.docx_document_id not in readable()
    with rt.transaction() as session, pytest.raises(NotFound):
        documents.download(
            session, principal=zhang, document_id=decision.docx_document_id, clock=rt.clock
        )
    w.complete(
        case,
        "notify",
        {"received_on": w.today().isoformat(), "delivery": "in_person", "delivery_note": "当面"},
        "organization.hf",
    )
    with rt.db.reading() as session:
        (served,) = session.execute(select(OfficialService)).scalars()
    assert (served.official_document_id, served.manner, served.note) == (
        decision.id,
        "in_person",
        "当面",
    )
    assert decision.docx_document_id in readable()
    assert receipt.docx_document_id not in readable()
    with rt.transaction() as session:
        got = documents.download(
            session, principal=zhang, document_id=decision.docx_document_id, clock=rt.clock
        )
    assert got.sha256 == _file(w, decision.docx_document_id).sha256
    other = _principal(w, "discipline.hf")
    with rt.db.reading() as session:
        listed = documents.documents_of(session, principal=other, case_id=case.id)
    assert receipt.docx_document_id in {item.document.id for item in listed}


# --- templates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filename", "content", "says"),
    [
        ("模板.docx", b"%PDF-1.7 not a word file", "不是 Word 文档（.docx）"),
        ("模板.pdf", b"%PDF-1.7", "不是 Word 文档（.docx）"),
        ("模板.docx", None, "未知的占位符：{{ salary }}"),
        ("模板.docx", b"syntax", "占位符写法有误"),
        ("模板.docx", b"", "请选择要上传的模板文件"),
    ],
)
def test_a_bad_template_is_refused_naming_the_problem(
    rt: Runtime, filename: str, content: bytes | None, says: str
) -> None:
    w = _world(rt)
    if content is None:
        content = _docx_with("工资：{{ salary }}")
    elif content == b"syntax":
        content = _docx_with("{{ case_number ")
    with rt.transaction() as session, pytest.raises(ValidationFailed) as refused:
        templates.upload(
            session,
            principal=_principal(w, "designer.hf"),
            key=kinds.ACCOUNTABILITY,
            filename=filename,
            content=content,
            note=None,
            clock=rt.clock,
        )
    assert refused.value.errors[0]["field"] == "file"
    assert says in refused.value.errors[0]["message"]
    with rt.db.reading() as session:
        assert templates.current(session, kinds.ACCOUNTABILITY).version == 1


def test_only_administrators_and_designers_replace_templates(rt: Runtime) -> None:
    w = _world(rt)
    with rt.transaction() as session, pytest.raises(Forbidden):
        templates.upload(
            session,
            principal=_principal(w, "discipline.hf"),
            key=kinds.ACCOUNTABILITY,
            filename="问责决定书.docx",
            content=_docx_with("x"),
            note=None,
            clock=rt.clock,
        )


def test_a_case_decided_before_documents_existed_gets_its_first_issue_on_demand(
    rt: Runtime,
) -> None:
    w = _world(rt)
    case, says = _accountability(w)
    with rt.transaction() as session:  # as if decided before this feature: no document rows
        session.execute(delete(OfficialDocument))
    with rt.transaction() as session:
        made = service.generate(
            session,
            principal=_principal(w, "committee.hf"),
            case_id=case.id,
            kind=kinds.ACCOUNTABILITY,
            clock=rt.clock,
        )
        assert (made.issue, made.version, made.number) == (1, 1, "合肥市纪问〔2026〕2号")
        docx_id = made.docx_document_id
    text = _docx_text(_file(w, docx_id).content)
    for expected in says:  # the facts come from what the steps were completed with
        assert expected in text, (expected, text)


def test_nothing_is_generated_for_a_decision_sent_back(rt: Runtime) -> None:
    w = _world(rt)
    case, _ = _accountability(w)
    with rt.transaction() as session:
        going_back.send_back(
            session,
            principal=_principal(w, "organization.hf"),
            task_id=w.task(case, "notify").id,
            to_step="decide",
            reason="重新决定",
            clock=rt.clock,
        )
    with rt.transaction() as session, pytest.raises(Conflict, match="尚未作出问责决定书所载的决定"):
        service.generate(
            session,
            principal=_principal(w, "discipline.hf"),
            case_id=case.id,
            kind=kinds.ACCOUNTABILITY,
            clock=rt.clock,
        )


def test_a_template_reaching_for_python_internals_is_refused(rt: Runtime) -> None:
    """Templates render in Jinja's sandbox: a known name walked to Python's internals fails
    the sample rendering, and the upload is refused."""
    w = _world(rt)
    content = _docx_with("{{ cadre_name.__class__.__mro__[1].__subclasses__() }}")
    with rt.transaction() as session, pytest.raises(ValidationFailed) as refused:
        templates.upload(
            session,
            principal=_principal(w, "admin.hf"),
            key=kinds.ACCOUNTABILITY,
            filename="模板.docx",
            content=content,
            note=None,
            clock=rt.clock,
        )
    assert "无法用示例案件生成文书" in refused.value.errors[0]["message"]


def test_a_template_that_unpacks_to_too_much_is_refused(rt: Runtime) -> None:
    w = _world(rt)
    packed = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(_docx_with("x"))) as source,
        zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for part in source.infolist():
            target.writestr(part, source.read(part))
        target.writestr("word/media/filler.bin", bytes(templates.MAX_UNPACKED + 1))
    assert len(packed.getvalue()) < templates.MAX_BYTES
    with rt.transaction() as session, pytest.raises(ValidationFailed) as refused:
        templates.upload(
            session,
            principal=_principal(w, "admin.hf"),
            key=kinds.ACCOUNTABILITY,
            filename="模板.docx",
            content=packed.getvalue(),
            note=None,
            clock=rt.clock,
        )
    assert "解压后超过 50 MB" in refused.value.errors[0]["message"]


def test_a_template_versions_preview_is_made_once() -> None:
    """The sample case is fixed: a version's preview is kept (by kind and template hash) and
    given again; another template is converted anew, never given the kept one."""
    shipped = templates.shipped(kinds.ACCOUNTABILITY)
    first = templates.preview(shipped)
    assert first.startswith(b"%PDF")
    assert templates.preview(shipped) is first  # kept, not converted again
    other = templates.shipped(kinds.TOLERANCE)
    changed = dataclasses.replace(shipped, content=other.content, sha256=other.sha256)
    second = templates.preview(changed)
    assert second.startswith(b"%PDF") and second is not first
    assert templates.preview(shipped) is first
